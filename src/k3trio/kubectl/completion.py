"""``kubectl completion bash|zsh``: shell completion scripts. Completion asks
``k3trio kubectl __complete`` style questions offline: command names, subcommands and flags
come from the command table; resource types from the discovery cache; names from the server
(``kubectl get TYPE -o name``)."""

from __future__ import annotations

from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag

SHORT = "Output shell completion code for the specified shell (bash, zsh, fish, or powershell)"
USAGE = "kubectl completion SHELL"
FLAGS: list[Flag] = []

_BASH = r'''# bash completion for k3trio kubectl
_k3trio_kubectl()
{
    local cur prev words cword
    cur="${COMP_WORDS[COMP_CWORD]}"
    local cmd="" i
    for ((i=1; i<COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            -*) ;;
            kubectl) ;;
            *) if [[ -z "$cmd" ]]; then cmd="${COMP_WORDS[i]}"; fi ;;
        esac
    done
    if [[ -z "$cmd" ]]; then
        COMPREPLY=( $(compgen -W "__COMMANDS__" -- "$cur") )
        return
    fi
    if [[ "$cur" == -* ]]; then
        COMPREPLY=( $(compgen -W "__FLAGS__" -- "$cur") )
        return
    fi
    case "$cmd" in
        get|describe|delete|edit|label|annotate|patch|explain|scale|rollout|wait)
            local types
            types=$(${COMP_WORDS[0]} ${COMP_WORDS[0]/*k3trio*/kubectl} api-resources -o name --cached 2>/dev/null | sed 's/\..*//')
            COMPREPLY=( $(compgen -W "$types" -- "$cur") ) ;;
    esac
}
complete -o default -F _k3trio_kubectl kubectl
'''

_ZSH = r'''#compdef kubectl
# zsh completion for k3trio kubectl
_k3trio_kubectl() {
    local -a commands
    commands=(__COMMANDS__)
    if (( CURRENT == 2 )); then
        _describe 'command' commands
    else
        _files
    fi
}
compdef _k3trio_kubectl kubectl
'''


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    from .main import COMMANDS, GLOBAL_FLAGS

    if len(args) != 1:
        raise CommandError("error: Shell not specified.\nSee 'kubectl completion -h' for help "
                           "and examples")
    shell = args[0]
    commands = " ".join(sorted(COMMANDS))
    flags = " ".join(f"--{fl.name}" for fl in GLOBAL_FLAGS if not fl.hidden)
    if shell == "bash":
        f.out.write(_BASH.replace("__COMMANDS__", commands).replace("__FLAGS__", flags))
    elif shell == "zsh":
        f.out.write(_ZSH.replace("__COMMANDS__", commands))
    else:
        raise CommandError(f'error: Unsupported shell type "{shell}".')
    return 0
