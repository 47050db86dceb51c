"""Options shared by the commands that run the pipeline, and how they become `Settings`."""

from __future__ import annotations

import argparse

from simdlens.config import ISA_CHOICES, ModelSettings, Settings


def add_pipeline_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("pipeline")
    g.add_argument("--isa", choices=ISA_CHOICES, default="auto", help="target ISA (default: auto = what this CPU runs)")
    g.add_argument("--compiler", default="", help="C compiler to verify and benchmark with (default: gcc, else clang)")
    g.add_argument("--compile-commands-dir", default="", metavar="DIR", help="where compile_commands.json is")
    g.add_argument("--allow-compiler", action="append", default=[], metavar="GLOB",
                   help="trust this compiler path from compile_commands.json (like clangd's --query-driver)")
    g.add_argument("--extra-flag", action="append", default=[], metavar="FLAG", help="extra compiler flag (repeatable)")
    g.add_argument("--lang", choices=("c", "cpp"), default=None, help="parse every file as C or C++")
    g.add_argument("--header-lang", choices=("c", "cpp"), default="c", help="language of .h files (default: c)")
    g.add_argument("--guard", choices=("ifdef", "dispatch"), default="ifdef",
                   help="keep rewrites buildable without the ISA flag by #if (default) or runtime dispatch")
    g.add_argument("--allow-contraction", action="store_true", help="allow FMA contraction (a caveat is shown)")
    g.add_argument("--jobs", "-j", type=int, default=0, help="parallel verifications (default: cores - 1)")
    c = p.add_argument_group("cache")
    c.add_argument("--cache-dir", default="", metavar="DIR", help="cache location (default: $XDG_CACHE_HOME/simdlens)")
    c.add_argument("--no-cache", action="store_true", help="neither read nor write the result cache")
    m = p.add_argument_group("model (optional)")
    m.add_argument("--model-url", default="", metavar="URL", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1")
    m.add_argument("--model", default="", metavar="NAME", help="model name as the server knows it")
    m.add_argument("--model-key-env", default="SIMDLENS_MODEL_API_KEY", metavar="VAR",
                   help="environment variable holding the API key")
    m.add_argument("--model-samples", type=int, default=1, metavar="K", help="samples per loop (default 1)")
    m.add_argument("--model-rounds", type=int, default=3, metavar="R", help="repair rounds per sample (default 3)")
    m.add_argument("--model-timeout", type=float, default=60.0, metavar="S", help="read timeout per request")


def settings_from_args(args: argparse.Namespace) -> Settings:
    model = ModelSettings(
        base_url=args.model_url, name=args.model, api_key_env=args.model_key_env,
        samples=max(1, args.model_samples), rounds=max(1, args.model_rounds), timeout=args.model_timeout,
    )
    return Settings(
        isa=args.isa, compiler=args.compiler, extra_flags=tuple(args.extra_flag),
        compile_commands_dir=args.compile_commands_dir, allowed_compilers=tuple(args.allow_compiler),
        guard=args.guard, allow_contraction=args.allow_contraction, header_language=args.header_lang,
        cache_dir=args.cache_dir, jobs=args.jobs, model=model,
    )
