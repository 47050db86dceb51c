;;; simdlens.el --- simdlens with eglot (Emacs 29+, or Emacs 26.3+ with eglot from ELPA) -*- lexical-binding: t -*-

;; Eglot runs one server per buffer: this uses simdlens instead of clangd for C/C++ buffers.
;; Load it from init.el:  (load "/path/to/simdlens/editors/emacs/simdlens.el")
;; then M-x eglot in a C buffer (or keep the eglot-ensure hook below).
;; Code actions: M-x eglot-code-actions on a loop header; the report: M-x simdlens-show-report.

(require 'eglot)

(add-to-list 'eglot-server-programs
             '((c-mode c++-mode c-ts-mode c++-ts-mode) . ("simdlens" "serve")))

;; The `simdlens' section, answered to workspace/configuration (camelCase keys as in the VS Code settings).
(setq-default eglot-workspace-configuration
              '(:simdlens (:isa "auto" :verifyOn "open")))

(defun simdlens-show-report ()
  "Show simdlens's report (every loop, verdict, best rewrite, speedups) for this buffer."
  (interactive)
  (let* ((server (eglot--current-server-or-lose))
         (answer (jsonrpc-request server :workspace/executeCommand
                                  `(:command "simdlens.showReport"
                                    :arguments [,(eglot--path-to-uri (buffer-file-name))])))
         (markdown (plist-get answer :markdown)))
    (with-current-buffer (get-buffer-create "*simdlens report*")
      (let ((inhibit-read-only t))
        (erase-buffer)
        (insert (or markdown "no report"))
        (goto-char (point-min))
        (when (fboundp 'markdown-mode) (markdown-mode))
        (setq buffer-read-only t))
      (display-buffer (current-buffer)))))

(add-hook 'c-mode-hook #'eglot-ensure)
(add-hook 'c++-mode-hook #'eglot-ensure)

(provide 'simdlens)
;;; simdlens.el ends here
