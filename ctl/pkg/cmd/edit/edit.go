// Package edit is `navctl edit`: objects opened in the user's editor as YAML
// (or JSON), and what the user changed sent back as a patch.
package edit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"navarch.dev/ctl/pkg/apply"
	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/resource"
)

const editLong = `Edit a resource from the default editor.

 The edit command allows you to directly edit any API resource you can retrieve via the command-line tools. It will open the editor defined by your KUBE_EDITOR, or EDITOR environment variables, or fall back to 'vi'. When attempting to open the editor, it will first attempt to use the shell that has been defined in the 'SHELL' environment variable. If this is not defined, the default shell will be used, which is '/bin/bash'.

 You can edit multiple objects, although changes are applied one at a time. The command accepts file names as well as command-line arguments, although the files you point to must be previously saved versions of resources.

 Editing is done with the API version used to fetch the resource. To edit using a specific API version, fully-qualify the resource, version, and group.

 The default format is YAML. To edit in JSON, specify "-o json".

 In the event an error occurs while updating, a temporary file will be created on disk that contains your unapplied changes. The most common error when updating a resource is another editor changing the resource on the server. When this occurs, you will have to apply your changes to the newer version of the resource, or update your temporary saved copy to include the latest resource version.`

const editExample = `  # Edit the service named 'registry'
  navctl edit svc/registry

  # Use an alternative editor
  KUBE_EDITOR="nano" navctl edit svc/registry

  # Edit the job 'myjob' in JSON using the v1 API format
  navctl edit job.v1.batch/myjob -o json

  # Edit the deployment 'mydeployment' in YAML and save the modified config in its annotation
  navctl edit deployment/mydeployment -o yaml --save-config`

const header = `# Please edit the object below. Lines beginning with a '#' will be ignored,
# and an empty file will abort the edit. If an error occurs while saving this file will be
# reopened with the relevant failures.
#
`

type options struct {
	sel         resource.Selection
	output      string
	outputPatch bool
	saveConfig  bool
	validate    string
}

// NewCommand returns `navctl edit`.
func NewCommand(f *factory.Factory) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:                   "edit (RESOURCE/NAME | -f FILENAME)",
		DisableFlagsInUseLine: true,
		Short:                 "Edit a resource on the server",
		Long:                  editLong,
		Example:               editExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), f, args)
		},
	}
	fs := cmd.Flags()
	o.sel.Files.AddFlags(fs, "Filename, directory, or URL to files to use to edit the resource")
	fs.StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).")
	fs.BoolVar(&o.outputPatch, "output-patch", false, "Output the patch if the resource is edited.")
	fs.BoolVar(&o.saveConfig, "save-config", false, "If true, the configuration of current object will be saved in its annotation. Otherwise, the annotation will be unchanged. This flag is useful when you want to perform navctl apply on this object in the future.")
	cli.AddValidateFlag(fs, &o.validate)
	o.sel.Stdin = f.IO.In
	return cmd
}

func (o *options) run(ctx context.Context, f *factory.Factory, args []string) error {
	switch o.output {
	case "", "yaml", "json":
	default:
		return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,yaml", o.output)
	}
	validation, err := cli.FieldValidation(o.validate)
	if err != nil {
		return err
	}
	infos, errs, err := o.sel.Resolve(ctx, f, args, true)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return cli.Aggregate(errs)
	}
	if len(infos) == 0 {
		return errors.New("edit cancelled, no objects found")
	}
	dyn, err := f.Dynamic()
	if err != nil {
		return err
	}
	s := &session{o: o, f: f, dyn: dyn, validation: validation, infos: infos, done: make([]bool, len(infos))}
	return s.loop(ctx)
}

// session is one edit: the objects being edited and what is left to save.
type session struct {
	o          *options
	f          *factory.Factory
	dyn        dynamic.Interface
	validation string
	infos      []*resource.Info
	// done marks the objects whose changes were saved in an earlier round.
	done []bool
}

// loop opens the editor until the changes are saved, the user cancels (an
// unchanged or empty file), or a round with errors comes back unchanged.
func (s *session) loop(ctx context.Context) error {
	originals := make([]*unstructured.Unstructured, len(s.infos))
	for i, info := range s.infos {
		originals[i] = forEditing(info.Object)
	}
	shown, err := s.render(originals)
	if err != nil {
		return err
	}
	var comments string
	previous := shown
	for round := 0; ; round++ {
		edited, path, err := s.edit([]byte(header+comments), previous)
		if err != nil {
			return err
		}
		stripped := stripComments(edited)
		switch {
		case len(bytes.TrimSpace(stripped)) == 0:
			os.Remove(path)
			fmt.Fprintln(s.f.IO.ErrOut, "Edit cancelled, saved file was empty.")
			return nil
		case round == 0 && bytes.Equal(stripped, stripComments(shown)):
			os.Remove(path)
			fmt.Fprintln(s.f.IO.ErrOut, "Edit cancelled, no changes made.")
			return nil
		case round > 0 && bytes.Equal(stripped, stripComments(previous)):
			// The user saw the errors and changed nothing: keep the file.
			s.reportFailures()
			fmt.Fprintf(s.f.IO.ErrOut, "A copy of your changes has been stored to %q\n", path)
			return errors.New("Edit cancelled, no valid changes were saved.")
		}
		os.Remove(path)
		failures, err := s.save(ctx, originals, stripped)
		if err != nil {
			comments = commentLines(fmt.Sprintf("The edited file had a syntax error: %v", err)) + "#\n"
		} else if len(failures) == 0 {
			return nil
		} else {
			comments = failures
		}
		previous = stripped
	}
}

// reportFailures prints, as kubectl does after a failed round the user left
// unchanged, which objects were not saved.
func (s *session) reportFailures() {
	for i, info := range s.infos {
		if !s.done[i] {
			fmt.Fprintf(s.f.IO.ErrOut, "error: %s %q is invalid\n", info.Mapping.Resource.GroupResource(), info.Name)
		}
	}
}

// forEditing is the object as shown in the editor: without managedFields.
func forEditing(obj *unstructured.Unstructured) *unstructured.Unstructured {
	c := obj.DeepCopy()
	unstructured.RemoveNestedField(c.Object, "metadata", "managedFields")
	return c
}

// render is the objects as the editor shows them: one object alone, several
// as a List; YAML unless -o json.
func (s *session) render(objs []*unstructured.Unstructured) ([]byte, error) {
	var v any = objs[0].Object
	if len(objs) > 1 {
		items := make([]any, len(objs))
		for i, o := range objs {
			items[i] = o.Object
		}
		v = map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{}, "items": items}
	}
	if s.o.output == "json" {
		b, err := json.MarshalIndent(v, "", "    ")
		return append(b, '\n'), err
	}
	return yaml.Marshal(v)
}

// edit writes the file (comments, then content) and runs the editor on it,
// returning what the user saved and where.
func (s *session) edit(comments, content []byte) ([]byte, string, error) {
	ext := ".yaml"
	if s.o.output == "json" {
		ext = ".json"
	}
	tmp, err := os.CreateTemp("", "navctl-edit-*"+ext)
	if err != nil {
		return nil, "", err
	}
	path := tmp.Name()
	if _, err := tmp.Write(append(append([]byte{}, comments...), content...)); err != nil {
		tmp.Close()
		return nil, path, err
	}
	if err := tmp.Close(); err != nil {
		return nil, path, err
	}
	if err := runEditor(s.f.IO, path); err != nil {
		return nil, path, err
	}
	edited, err := os.ReadFile(path)
	return edited, path, err
}

// stripComments drops the lines that begin with '#'.
func stripComments(b []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("#")) {
			continue
		}
		out = append(out, line)
	}
	return bytes.Join(out, []byte("\n"))
}

func commentLines(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		b.WriteString("# " + line + "\n")
	}
	return b.String()
}

// save sends each object's changes as a patch. A file that cannot be read
// is err; objects the server refused come back as comments for the next
// round (empty when everything was saved).
func (s *session) save(ctx context.Context, originals []*unstructured.Unstructured, content []byte) (string, error) {
	edited, err := parseEdited(content)
	if err != nil {
		return "", err
	}
	if len(edited) != len(originals) {
		return "", fmt.Errorf("the edited file has %d objects, but %d were opened for editing", len(edited), len(originals))
	}
	var comments strings.Builder
	for i, info := range s.infos {
		if s.done[i] {
			continue
		}
		if err := s.saveOne(ctx, info, originals[i], edited[i]); err != nil {
			fmt.Fprintf(&comments, "# %s %q was not valid:\n", info.Mapping.Resource.GroupResource(), info.Name)
			for _, cause := range causes(err) {
				comments.WriteString("# * " + cause + "\n")
			}
			comments.WriteString("#\n")
			continue
		}
		s.done[i] = true
	}
	return comments.String(), nil
}

func parseEdited(content []byte) ([]*unstructured.Unstructured, error) {
	j, err := yaml.YAMLToJSON(content)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		return nil, err
	}
	if !u.IsList() {
		return []*unstructured.Unstructured{u}, nil
	}
	list, err := u.ToList()
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// saveOne patches one object from original to edited and prints the result:
// "<kind>/<name> edited", or "skipped" when it did not change.
func (s *session) saveOne(ctx context.Context, info *resource.Info, original, edited *unstructured.Unstructured) error {
	if s.o.saveConfig {
		if err := apply.SetLastApplied(edited); err != nil {
			return err
		}
	}
	before, err := original.MarshalJSON()
	if err != nil {
		return err
	}
	after, err := edited.MarshalJSON()
	if err != nil {
		return err
	}
	patch, patchType, err := apply.TwoWayPatch(before, after, info.Mapping.GroupVersionKind)
	if err != nil {
		return err
	}
	if string(patch) == "{}" {
		fmt.Fprintf(s.f.IO.Out, "%s skipped\n", info.KindName())
		return nil
	}
	if s.o.outputPatch {
		fmt.Fprintf(s.f.IO.Out, "Patch: %s\n", patch)
	}
	if _, err := info.Client(s.dyn).Patch(ctx, info.Name, patchType, patch, metav1.PatchOptions{FieldValidation: s.validation}); err != nil {
		return err
	}
	fmt.Fprintf(s.f.IO.Out, "%s edited\n", info.KindName())
	return nil
}

// causes are an error's lines in the file's comments: the field errors of
// an Invalid error, else its message.
func causes(err error) []string {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		st := se.Status()
		if st.Details != nil && len(st.Details.Causes) > 0 {
			var out []string
			for _, c := range st.Details.Causes {
				out = append(out, c.Field+": "+c.Message)
			}
			return out
		}
		return []string{st.Message}
	}
	return []string{err.Error()}
}
