package main

import (
	"fmt"
	"strings"
)

const completionHelp = `Usage: redlock completion bash|zsh|fish

Prints a script that completes redlock's commands and flags in the shell
named, made from the flags the commands parse. Load it with, for example:

  bash:  source <(redlock completion bash)     (in ~/.bashrc)
  zsh:   source <(redlock completion zsh)      (in ~/.zshrc, after compinit)
  fish:  redlock completion fish > ~/.config/fish/completions/redlock.fish

Exit status: 0; 64 for a usage error.
`

// shells are the shells completion writes for, and how.
var shells = map[string]func(*strings.Builder, []completed){
	"bash": bashCompletion,
	"zsh":  zshCompletion,
	"fish": fishCompletion,
}

// A completed is a command with its flags, for completion.
type completed struct {
	subcommand
	flags []flagInfo
}

func cmdCompletion(args []string, sio stdio) int {
	fs := newFlagSet("completion")
	if status, ok := parse(fs, args, completionHelp, sio); !ok {
		return status
	}
	if fs.NArg() != 1 {
		return usageError(sio, fs, "name one shell: bash, zsh or fish")
	}
	write, ok := shells[fs.Arg(0)]
	if !ok {
		return usageError(sio, fs, "no completion for %q: bash, zsh or fish", fs.Arg(0))
	}
	var cmds []completed
	for _, c := range commands() {
		cc := completed{subcommand: c}
		if c.flags != nil {
			cc.flags = c.flags().flags()
		}
		cmds = append(cmds, cc)
	}
	var b strings.Builder
	write(&b, cmds)
	fmt.Fprint(sio.out, b.String())
	return exitOK
}

// words are the arguments completed after the command c; nil if none.
func words(c subcommand, cmds []completed) []string {
	switch c.name {
	case "completion":
		return []string{"bash", "fish", "zsh"}
	case "help":
		var names []string
		for _, o := range cmds {
			names = append(names, o.name)
		}
		return names
	}
	return nil
}

// takesFile tells a flag whose value is a file.
func (f flagInfo) takesFile() bool { return f.value == "PATH" }

// summary is the first line of a flag's usage.
func (f flagInfo) summary() string {
	line, _, _ := strings.Cut(f.usage, "\n")
	return strings.TrimRight(line, ",. ")
}

func bashCompletion(b *strings.Builder, cmds []completed) {
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	fmt.Fprintf(b, `# bash completion for redlock, written by "redlock completion bash".
_redlock() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" i
    if [[ $COMP_CWORD -eq 1 ]]; then
        COMPREPLY=($(compgen -W %q -- "$cur"))
        return
    fi
    for ((i = 2; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[1]} == run && ${COMP_WORDS[i]} == -- ]]; then
            if [[ $i -eq $((COMP_CWORD - 1)) ]]; then
                COMPREPLY=($(compgen -c -- "$cur"))
            else
                COMPREPLY=($(compgen -f -- "$cur"))
            fi
            return
        fi
    done
    case "${COMP_WORDS[1]}" in
`, strings.Join(names, " "))
	for _, c := range cmds {
		var all, files, values []string
		for _, f := range c.flags {
			all = append(all, "--"+f.long)
			names := []string{"--" + f.long}
			if f.short != "" {
				all = append(all, "-"+f.short)
				names = append(names, "-"+f.short)
			}
			switch {
			case f.takesFile():
				files = append(files, names...)
			case f.value != "":
				values = append(values, names...)
			}
		}
		fmt.Fprintf(b, "    %s)\n", c.name)
		if len(files)+len(values) > 0 {
			b.WriteString("        case \"$prev\" in\n")
			if len(files) > 0 {
				fmt.Fprintf(b, "        %s) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", strings.Join(files, "|"))
			}
			if len(values) > 0 {
				fmt.Fprintf(b, "        %s) COMPREPLY=(); return ;;\n", strings.Join(values, "|"))
			}
			b.WriteString("        esac\n")
		}
		if w := words(c.subcommand, cmds); w != nil {
			all = append(all, w...)
		}
		fmt.Fprintf(b, "        COMPREPLY=($(compgen -W %q -- \"$cur\")) ;;\n", strings.Join(all, " "))
	}
	b.WriteString("    esac\n}\ncomplete -F _redlock redlock\n")
}

func zshCompletion(b *strings.Builder, cmds []completed) {
	b.WriteString("#compdef redlock\n# zsh completion for redlock, written by \"redlock completion zsh\".\n_redlock() {\n")
	b.WriteString("  local -a commands\n  commands=(\n")
	for _, c := range cmds {
		fmt.Fprintf(b, "    %s\n", zshQuote(c.name+":"+c.summary))
	}
	b.WriteString("  )\n  if (( CURRENT == 2 )); then\n    _describe -t commands 'redlock command' commands\n    return\n  fi\n")
	b.WriteString("  local cmd=$words[2]\n  shift words\n  (( CURRENT-- ))\n  case $cmd in\n")
	for _, c := range cmds {
		fmt.Fprintf(b, "  %s)\n    _arguments -s -S", c.name)
		for _, f := range c.flags {
			desc := "[" + zshDesc(f.summary()) + "]"
			action := ""
			switch {
			case f.takesFile():
				action = ":" + f.value + ":_files"
			case f.value != "":
				action = ":" + f.value + ": "
			}
			if f.short != "" {
				fmt.Fprintf(b, " \\\n      '(-%s --%s)'{-%s,--%s}'%s%s'", f.short, f.long, f.short, f.long, desc, action)
			} else {
				fmt.Fprintf(b, " \\\n      '--%s%s%s'", f.long, desc, action)
			}
		}
		switch c.name {
		case "run":
			b.WriteString(" \\\n      '1:lock name: ' \\\n      '*::program:_normal'")
		case "status":
			b.WriteString(" \\\n      '1:lock name: '")
		case "completion", "help":
			fmt.Fprintf(b, " \\\n      '1:%s:(%s)'", c.name, strings.Join(words(c.subcommand, cmds), " "))
		}
		b.WriteString("\n    ;;\n")
	}
	b.WriteString("  esac\n}\nif [[ $funcstack[1] == _redlock ]]; then\n  _redlock \"$@\"\nelse\n  compdef _redlock redlock\nfi\n")
}

// zshQuote quotes s in single quotes for zsh.
func zshQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// zshDesc makes s safe inside the brackets of an _arguments spec that is
// itself in single quotes.
func zshDesc(s string) string {
	return strings.NewReplacer("[", "(", "]", ")", "'", "", ":", "\\:").Replace(s)
}

func fishCompletion(b *strings.Builder, cmds []completed) {
	b.WriteString("# fish completion for redlock, written by \"redlock completion fish\".\ncomplete -c redlock -f\n")
	for _, c := range cmds {
		fmt.Fprintf(b, "complete -c redlock -n __fish_use_subcommand -a %s -d %s\n", c.name, fishQuote(c.summary))
	}
	for _, c := range cmds {
		cond := fishQuote("__fish_seen_subcommand_from " + c.name)
		for _, f := range c.flags {
			fmt.Fprintf(b, "complete -c redlock -n %s -l %s", cond, f.long)
			if f.short != "" {
				fmt.Fprintf(b, " -s %s", f.short)
			}
			switch {
			case f.takesFile():
				b.WriteString(" -r -F")
			case f.value != "":
				b.WriteString(" -r")
			}
			fmt.Fprintf(b, " -d %s\n", fishQuote(f.summary()))
		}
		if w := words(c.subcommand, cmds); w != nil {
			fmt.Fprintf(b, "complete -c redlock -n %s -a %s\n", cond, fishQuote(strings.Join(w, " ")))
		}
	}
}

// fishQuote quotes s in single quotes for fish.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}
