package chat

import "errors"

var (
	// ErrNoTemplate is returned when a model ships no chat template and no template file was given.
	ErrNoTemplate = errors.New("no chat template")
	// ErrSyntax is returned when a template does not compile.
	ErrSyntax = errors.New("template syntax error")
	// ErrRaised is returned when a template calls raise_exception.
	ErrRaised = errors.New("template raised exception")
	// ErrRender is returned when executing a template fails for another reason.
	ErrRender = errors.New("template render error")
)
