package main

import (
	"fmt"
	"strings"
)

// tokenize splits a command line as zkCli.sh does (ZooKeeperMain's
// ARGS_PATTERN): a token is a run of non-space characters not starting with
// a quote, or a whole "double-quoted" or 'single-quoted' string, whose
// quotes are dropped. Text that matches neither (an unterminated quote) is
// skipped one character at a time, as Java's Matcher.find does.
func tokenize(line string) []string {
	var toks []string
	i := 0
	for i < len(line) {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			break
		}
		switch q := line[i]; q {
		case '"', '\'':
			end := strings.IndexByte(line[i+1:], q)
			if end < 0 {
				i++ // no match here; try from the next character
				continue
			}
			toks = append(toks, line[i+1:i+1+end])
			i += end + 2
		default:
			j := i
			for j < len(line) && !isSpace(line[j]) {
				j++
			}
			tok := line[i:j]
			// A token like x"..." keeps its quotes; one that is entirely
			// quoted cannot start here (the first character is no quote).
			toks = append(toks, tok)
			i = j
		}
	}
	return toks
}

// isSpace is Java's \s: ASCII whitespace.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// option is one flag of a command, as commons-cli's Option.
type option struct {
	name   string
	hasArg bool
}

// parsedArgs is a command line after option parsing: args[0] is the
// command name.
type parsedArgs struct {
	args  []string
	flags map[string]string // option name -> value ("" for flags)
}

func (p *parsedArgs) has(name string) bool {
	_, ok := p.flags[name]
	return ok
}

func (p *parsedArgs) value(name string) string { return p.flags[name] }

// parseError carries commons-cli's exception text, which zkCli.sh prints
// with the exception's class name.
type parseError struct{ class, msg string }

func (e *parseError) Error() string { return "org.apache.commons.cli." + e.class + ": " + e.msg }

// parseOptions parses argv like commons-cli's DefaultParser: options may be
// anywhere among the arguments, "-abc" may group flags, "-v5" or "-v 5"
// give a value, a negative number is an argument, and "--" ends options.
func parseOptions(opts []option, argv []string) (*parsedArgs, error) {
	find := func(n string) (option, bool) {
		for _, o := range opts {
			if o.name == n {
				return o, true
			}
		}
		return option{}, false
	}
	isOption := func(tok string) bool {
		if len(tok) < 2 || tok[0] != '-' || isNumber(tok) {
			return false
		}
		_, whole := find(tok[1:])
		_, first := find(tok[1:2])
		return whole || first
	}
	p := &parsedArgs{flags: map[string]string{}}
	for i := 0; i < len(argv); i++ {
		tok := argv[i]
		switch {
		case tok == "--":
			p.args = append(p.args, argv[i+1:]...)
			return p, nil
		case len(tok) < 2 || tok[0] != '-' || isNumber(tok):
			p.args = append(p.args, tok)
			continue
		case strings.HasPrefix(tok, "--"):
			return nil, &parseError{"UnrecognizedOptionException", "Unrecognized option: " + tok}
		}
		name := tok[1:]
		if o, ok := find(name); ok {
			if o.hasArg {
				if i+1 >= len(argv) || isOption(argv[i+1]) {
					return nil, &parseError{"MissingArgumentException", "Missing argument for option: " + o.name}
				}
				i++
				p.flags[o.name] = argv[i]
			} else {
				p.flags[o.name] = ""
			}
			continue
		}
		// "-v5": an option with its value attached; "-se": grouped flags.
		if o, ok := find(name[:1]); ok && o.hasArg {
			p.flags[o.name] = name[1:]
			continue
		}
		for j := 0; j < len(name); j++ {
			o, ok := find(name[j : j+1])
			if !ok {
				return nil, &parseError{"UnrecognizedOptionException", "Unrecognized option: " + tok}
			}
			if o.hasArg {
				if j+1 < len(name) {
					p.flags[o.name] = name[j+1:]
					break
				}
				if i+1 >= len(argv) {
					return nil, &parseError{"MissingArgumentException", "Missing argument for option: " + o.name}
				}
				i++
				p.flags[o.name] = argv[i]
				break
			}
			p.flags[o.name] = ""
		}
	}
	return p, nil
}

// isNumber reports whether tok parses as a number (commons-cli treats
// "-1" as an argument, not an option).
func isNumber(tok string) bool {
	var f float64
	_, err := fmt.Sscan(tok, &f)
	return err == nil && strings.TrimLeft(tok, "-+0123456789.eE") == ""
}
