"""
docs/conformance.md stays true: every test it names exists, every clause row names a test (or says
why not), and no required clause row disappears.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / "docs" / "conformance.md"

#: Rows the matrix must keep, by the exact text of their Clause cell.
REQUIRED_CLAUSES = (
    "Art. 4(1) text",
    "Art. 4(1) interface",
    "Art. 4 last ¶",
    "Art. 5 ¶1",
    "Art. 5 ¶2",
    "Art. 6(1)",
    "Art. 6(2)",
    "Art. 6(3)",
    "Art. 6 propagation",
    "Art. 6(4)",
    "Art. 7",
    "Art. 8",
    "Art. 9 agreement",
    "Art. 9 logs",
    "Art. 10 ¶1",
    "Art. 10 ¶2",
    "§5.1",
    "§5.6",
    "§6.1",
    "Annex E keys",
    "Annex E Label",
    "Annex E first write",
    "Annex E shapes",
    "Carrier md",
    "Carrier docx",
    "Carrier xlsx/pptx",
    "Carrier pdf",
    "Carrier html",
    "Carrier txt",
    "Provider codes",
    "Integrity",
    "EU AI Act Art. 50(2)",
)
COLUMNS = ("Clause", "Requirement", "How the SDK meets it", "Tests", "Gaps")
REFERENCE = re.compile(r"(tests/[\w/]+\.py)::(\w+)")
CELL_SEPARATOR = re.compile(r"(?<!\\)\|")
GAP_ENTRY = re.compile(r"^- \*\*(.+?)\*\*")
NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True)
class Row:
    """One row of the matrix: its cells by column name, and the raw line."""

    cells: dict[str, str]
    line: str

    @property
    def clause(self) -> str:
        return self.cells["Clause"]

    @property
    def references(self) -> list[tuple[str, str]]:
        return REFERENCE.findall(self.cells["Tests"])


def section(text: str, heading: str) -> list[str]:
    """The lines under the level-2 *heading*, up to the next level-2 heading."""
    lines = text.splitlines()
    start = lines.index(f"## {heading}") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]


def split_cells(line: str) -> list[str]:
    """The cells of a Markdown table line; ``\\|`` inside a cell is not a separator."""
    return [c.strip() for c in CELL_SEPARATOR.split(line.strip())[1:-1]]


@functools.cache
def document() -> str:
    return MATRIX.read_text("utf-8")


@functools.cache
def rows() -> tuple[Row, ...]:
    """The rows of the table under "## Matrix"."""
    table = [line for line in section(document(), "Matrix") if line.startswith("|")]
    header = tuple(split_cells(table[0]))
    assert COLUMNS == header, f"docs/conformance.md: the matrix columns changed: {header}"
    found = []
    for line in table[2:]:
        cells = split_cells(line)
        assert len(cells) == len(COLUMNS), f"a matrix row has {len(cells)} cells, not {len(COLUMNS)}: {line}"
        found.append(Row(dict(zip(COLUMNS, cells, strict=True)), line))
    return tuple(found)


@functools.cache
def gap_clauses() -> frozenset[str]:
    """The clauses named in bold at the start of an entry under "## Gaps"."""
    return frozenset(m.group(1) for line in section(document(), "Gaps") if (m := GAP_ENTRY.match(line)))


@functools.cache
def defined_tests(path: str) -> frozenset[str]:
    """Test functions defined at module level or in a class (at any depth of classes) of *path*."""
    tree = ast.parse((ROOT / path).read_text("utf-8"), filename=path)
    names: set[str] = set()
    bodies = [tree.body]
    while bodies:
        for node in bodies.pop():
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
            elif isinstance(node, ast.ClassDef):
                bodies.append(node.body)
    return frozenset(names)


def test_the_matrix_has_rows_and_references() -> None:
    """The parser finds the table and its references (guards against a vacuous pass)."""
    references = sum(len(row.references) for row in rows())
    assert len(rows()) >= len(REQUIRED_CLAUSES), f"only {len(rows())} matrix rows found"
    assert references >= 100, f"only {references} test references found in the matrix"


def test_every_reference_names_an_existing_test() -> None:
    """Each ``tests/…py::test_name`` in the document is a file that defines that function."""
    missing = []
    for path, name in sorted(set(REFERENCE.findall(document()))):
        if not (ROOT / path).is_file():
            missing.append(f"{path}::{name} (no such file)")
        elif name not in defined_tests(path):
            missing.append(f"{path}::{name} (no such test function)")
    assert [] == missing, "docs/conformance.md names tests that do not exist:\n" + "\n".join(missing)


def test_references_name_functions_not_parametrised_ids() -> None:
    """A reference names the function; a ``[param]`` suffix would not match a definition."""
    suffixed = [m.group(0) for m in re.finditer(REFERENCE.pattern + r"\[", document())]
    assert [] == suffixed, "references with a parametrised id:\n" + "\n".join(suffixed)


def test_every_row_names_a_test_unless_not_applicable_or_a_gap() -> None:
    """A row without a test says "not applicable" or is explained under Gaps."""
    bare = [
        row.clause
        for row in rows()
        if not row.references and NOT_APPLICABLE not in row.line.lower() and row.clause not in gap_clauses()
    ]
    why = "rows that name no test, are not 'not applicable' and are not under Gaps:\n"
    assert [] == bare, why + "\n".join(bare)


def test_every_required_clause_has_a_row() -> None:
    """The clauses the SDK must show conformance for each keep their row."""
    present = {row.clause for row in rows()}
    missing = [clause for clause in REQUIRED_CLAUSES if clause not in present]
    assert [] == missing, "docs/conformance.md lost the rows of:\n" + "\n".join(missing)


def test_clause_cells_are_unique() -> None:
    """Each clause has one row, so a Gaps entry names exactly one row."""
    clauses = [row.clause for row in rows()]
    assert [] == sorted(c for c in set(clauses) if clauses.count(c) > 1)


def test_every_gap_names_a_row_of_the_matrix() -> None:
    """A Gaps entry refers to a clause that has a row (no entry for a row that was renamed)."""
    present = {row.clause for row in rows()}
    orphans = sorted(gap_clauses() - present)
    assert [] == orphans, "Gaps entries without a matrix row:\n" + "\n".join(orphans)


def test_a_row_with_a_gap_note_is_explained_under_gaps() -> None:
    """A row whose Gaps cell says anything other than "not applicable" has an entry under Gaps."""
    unexplained = [
        row.clause
        for row in rows()
        if row.cells["Gaps"]
        and NOT_APPLICABLE not in row.cells["Gaps"].lower()
        and row.clause not in gap_clauses()
    ]
    assert [] == unexplained, "rows with a gap note but no entry under Gaps:\n" + "\n".join(unexplained)
