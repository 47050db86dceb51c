;;; drive.el --- batch Emacs driver for the eglot snippet test -*- lexical-binding: t -*-
;; Loads editors/emacs/simdlens.el as a user would, opens $SIMDLENS_C_FILE, connects eglot, waits for
;; simdlens's diagnostics and a verified rewrite, applies the preferred code action, saves, asks for the
;; report, and writes every step to $SIMDLENS_EMACS_RESULT (JSON). Each wait has a timeout.

(require 'json)
(defvar simdlens-test-result nil)
(defun simdlens-test-step (key value) (push (cons key value) simdlens-test-result))

(defun simdlens-test-wait (seconds predicate)
  (let ((deadline (+ (float-time) seconds)) found)
    (while (and (not (setq found (funcall predicate))) (< (float-time) deadline))
      (accept-process-output nil 0.1))
    found))

(defun simdlens-test-diagnostics ()
  ;; flymake defers its first check to post-command-hook, which batch mode never runs
  (when (and (bound-and-true-p flymake-mode) (not (flymake-running-backends)))
    (flymake-start))
  (mapcar (lambda (d) (list (cons 'line (1- (line-number-at-pos (flymake-diagnostic-beg d))))
                            (cons 'message (flymake-diagnostic-text d))))
          (flymake-diagnostics)))

(condition-case err
    (progn
      (load (getenv "SIMDLENS_EMACS_SNIPPET"))
      (setq-default eglot-workspace-configuration
                    `(:simdlens (:isa "avx2" :verifyOn "open" :cacheDir ,(getenv "SIMDLENS_TEST_CACHE")
                                 :bench (:enabled :json-false))))
      (find-file (getenv "SIMDLENS_C_FILE"))
      (simdlens-test-step 'mode (symbol-name major-mode))
      (apply #'eglot (eglot--guess-contact))
      (unless (simdlens-test-wait 20 (lambda () (eglot-current-server)))
        (error "eglot did not connect"))
      (simdlens-test-step 'server (plist-get (eglot--server-info (eglot-current-server)) :name))
      (unless (simdlens-test-wait 20 (lambda () (simdlens-test-diagnostics)))
        (error "no diagnostics within 20 s"))
      (simdlens-test-step 'first_diagnostics (vconcat (simdlens-test-diagnostics)))
      (let ((verified (simdlens-test-wait
                       (string-to-number (or (getenv "SIMDLENS_VERIFY_TIMEOUT_S") "90"))
                       (lambda () (seq-find (lambda (d) (string-match-p "\\[SL102\\]" (cdr (assq 'message d))))
                                            (simdlens-test-diagnostics))))))
        (simdlens-test-step 'diagnostics_before (vconcat (simdlens-test-diagnostics)))
        (unless verified (error "no verified rewrite diagnostic in time"))
        (goto-char (point-min))
        (forward-line (cdr (assq 'line verified)))
        (let* ((server (eglot-current-server))
               (actions (jsonrpc-request
                         server :textDocument/codeAction
                         (list :textDocument (eglot--TextDocumentIdentifier)
                               :range (list :start (eglot--pos-to-lsp-position (line-beginning-position))
                                            :end (eglot--pos-to-lsp-position (line-end-position)))
                               :context (list :diagnostics [] :only ["refactor.rewrite.simdlens"]))))
               (best (or (seq-find (lambda (a) (eq (plist-get a :isPreferred) t)) actions) (and (> (length actions) 0) (aref actions 0)))))
          (simdlens-test-step 'actions (vconcat (mapcar (lambda (a) (plist-get a :title)) actions)))
          (unless best (error "no code action"))
          (unless (plist-get best :edit)
            (setq best (jsonrpc-request server :codeAction/resolve best)))
          (eglot--apply-workspace-edit (plist-get best :edit))
          (simdlens-test-step 'applied (plist-get best :title))
          (save-buffer)
          (simdlens-test-step 'buffer (buffer-substring-no-properties (point-min) (point-max)))
          (simdlens-show-report)
          (simdlens-test-step 'report (with-current-buffer "*simdlens report*"
                                        (buffer-substring-no-properties (point-min) (point-max)))))))
  (error (simdlens-test-step 'error (error-message-string err))))

(with-temp-file (getenv "SIMDLENS_EMACS_RESULT")
  (insert (json-encode simdlens-test-result)))
(kill-emacs 0)
