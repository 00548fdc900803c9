"""Shared by the experiment scripts: files are written whole or not at all (a killed run never
leaves half a table for the next stage to read), and JSON-lines files are read one way."""
import json
import os


def read_jsonl(path):
    """The rows of a JSON-lines file (UTF-8), blank lines skipped."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_text_atomic(path, text):
    """Writes `text` (UTF-8) to `path` through a temporary file in the same folder and a rename."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_figure_atomic(fig, path, dpi=110):
    """Saves a matplotlib figure to `path` (its format from the extension) through a temporary
    file in the same folder and a rename."""
    root, ext = os.path.splitext(path)
    tmp = f"{root}.tmp.{os.getpid()}{ext}"
    fig.savefig(tmp, dpi=dpi)
    os.replace(tmp, path)
