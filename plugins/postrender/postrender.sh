#!/bin/sh
# Runs `opsta-lint postrender` for Helm 4's post-renderer plugin. The binary is, in order: $OPSTA_LINT_BIN,
# bin/opsta-lint in this plugin's folder (`helm opsta-lint install-postrenderer` links it to the CLI plugin's binary),
# or opsta-lint on PATH. Helm 4 discards a post-renderer's stderr, so a missing binary is also reported on the terminal.
for candidate in "${OPSTA_LINT_BIN:-}" "${HELM_PLUGIN_DIR:-.}/bin/opsta-lint" "$(command -v opsta-lint 2>/dev/null)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    exec "$candidate" "$@"
  fi
done
message="opsta-lint-postrender: the opsta-lint binary was not found (run \`helm opsta-lint install-postrenderer\` again, set OPSTA_LINT_BIN, or put opsta-lint on PATH)"
echo "$message" >&2
{ echo "$message" > /dev/tty; } 2>/dev/null
exit 2
