package edit

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"navarch.dev/ctl/pkg/cli"
)

// editorCommand is the editor to run on path, chosen as kubectl chooses it:
// $KUBE_EDITOR, else $EDITOR, else vi. An editor with arguments is split on
// spaces, or, when it holds quotes or backslashes, handed to $SHELL (else
// /bin/bash) with -c.
func editorCommand(path string) []string {
	editor := os.Getenv("KUBE_EDITOR")
	if editor == "" {
		editor = os.Getenv("EDITOR")
	}
	if editor == "" {
		editor = "vi"
	}
	if !strings.Contains(editor, " ") {
		return []string{editor, path}
	}
	if !strings.ContainsAny(editor, "\"'\\") {
		return append(strings.Split(editor, " "), path)
	}
	shell := os.Getenv("SHELL")
	if shell == "" {
		shell = "/bin/bash"
	}
	return []string{shell, "-c", fmt.Sprintf("%s %q", editor, path)}
}

// runEditor runs the editor on path with the command's streams.
func runEditor(io cli.IOStreams, path string) error {
	args := editorCommand(path)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = io.In, io.Out, io.ErrOut
	if err := cmd.Run(); err != nil {
		if strings.Contains(err.Error(), "executable file not found") {
			return fmt.Errorf("unable to launch the editor %q", strings.Join(args, " "))
		}
		return fmt.Errorf("there was a problem with the editor %q", strings.Join(args, " "))
	}
	return nil
}
