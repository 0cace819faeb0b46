"""
The install surface: a bare ``pip install aigc-label`` (no extras) gives a working
``aigclabel label|verify|demo`` on text; every optional package is imported lazily and, when
missing, raises :class:`~aigclabel.MissingDependencyError` naming an extra that exists in
``pyproject.toml`` and brings that package; ``import aigclabel`` stays light.

CI also builds the wheel and runs the text commands in a fresh virtualenv without extras
(``scripts/test-wheel.sh``); the tests here simulate that inside the suite by blocking each
optional module (``sys.modules[name] = None`` makes ``import name`` raise ``ImportError``).
"""

from __future__ import annotations

import ast
import os
import pickle
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aigclabel
import aigclabel.adapters
import aigclabel.middleware
import pytest
from aigclabel import LabeledText, Labeler, MissingDependencyError
from aigclabel.adapters.export import export
from aigclabel.adapters.files import propagate_file, verify_file, verify_tree

from tests.helpers import KEY, PLATFORM, PRODUCER, REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))

#: Every third-party module the package imports only when a feature needs it.
OPTIONAL_MODULES = (
    "anthropic",
    "defusedxml",
    "docx",
    "fpdf",
    "httpx2",
    "langchain_core",
    "lxml",
    "markdown_it",
    "openai",
    "pikepdf",
    "psycopg",
    "pypdf",
    "sqlalchemy",
    "tqdm",
    "yaml",
)


def _dist(requirement: str) -> str:
    """
    The normalised distribution name of a requirement (``"psycopg[binary]>=3.1"`` → ``psycopg``).
    """
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match is not None, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def _extras() -> dict[str, set[str]]:
    """
    Each extra of ``pyproject.toml`` with the distributions it brings, self-references
    (``aigc-label[audit]``) resolved.
    """
    raw: dict[str, list[str]] = PYPROJECT["project"]["optional-dependencies"]
    own = _dist(PYPROJECT["project"]["name"])

    def expand(extra: str, seen: frozenset[str]) -> set[str]:
        out: set[str] = set()
        for requirement in raw[extra]:
            if _dist(requirement) == own:
                inner = re.search(r"\[([^]]+)\]", requirement)
                assert inner is not None, requirement
                for name in inner.group(1).split(","):
                    if name.strip() not in seen:
                        out |= expand(name.strip(), seen | {name.strip()})
            else:
                out.add(_dist(requirement))
        return out

    return {extra: expand(extra, frozenset({extra})) for extra in raw}


EXTRAS = _extras()


def _assert_names_an_extra_that_brings(exc: MissingDependencyError, package: str) -> None:
    assert (package, True, True, True) == (
        exc.package,
        exc.extra in EXTRAS,
        _dist(exc.package) in EXTRAS.get(exc.extra, set()),
        f"pip install 'aigc-label[{exc.extra}]'" in str(exc),
    )


# -- each optional module, blocked, through the public function that needs it ---------------


@dataclass(frozen=True)
class Case:
    """
    A feature that needs *module*: ``prepare`` runs before the module is blocked (it may use
    it to build an input file), ``act`` after.
    """

    module: str
    package: str
    act: Callable[[Any, Labeler], object]
    prepare: Callable[[Path, LabeledText], Any] = lambda tmp_path, labeled: None


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _md_with_front_matter(tmp_path: Path, labeled: LabeledText) -> Path:
    return _write(tmp_path / "a.md", export(labeled, "md"))


def _folder(tmp_path: Path, labeled: LabeledText) -> Path:
    (tmp_path / "folder").mkdir()
    _write(tmp_path / "folder" / "a.txt", labeled.text.encode())
    return tmp_path / "folder"


CASES = {
    "files: defusedxml reads a docx": Case(
        "defusedxml",
        "defusedxml",
        prepare=lambda tmp, lt: _write(tmp / "a.docx", export(lt, "docx")),
        act=lambda path, lb: verify_file(path),
    ),
    "files: yaml reads Markdown front matter": Case(
        "yaml", "pyyaml", prepare=_md_with_front_matter, act=lambda path, lb: verify_file(path)
    ),
    "files: lxml reads html": Case(
        "lxml",
        "lxml",
        prepare=lambda tmp, lt: _write(tmp / "a.html", export(lt, "html")),
        act=lambda path, lb: verify_file(path),
    ),
    "files: pypdf reads a pdf": Case(
        "pypdf",
        "pypdf",
        prepare=lambda tmp, lt: _write(tmp / "a.pdf", export(lt, "pdf")),
        act=lambda path, lb: verify_file(path),
    ),
    "files: pikepdf propagates a pdf": Case(
        "pikepdf",
        "pikepdf",
        prepare=lambda tmp, lt: _write(tmp / "a.pdf", export(lt, "pdf")),
        act=lambda path, lb: propagate_file(path, path.with_suffix(".out.pdf"), propagator=PLATFORM),
    ),
    "files: tqdm draws the progress bar asked for": Case(
        "tqdm", "tqdm", prepare=_folder, act=lambda path, lb: verify_tree(path, progress=True)
    ),
    "export: yaml reads the input's front matter": Case(
        "yaml", "pyyaml", act=lambda _, lb: export("---\ntitle: 杭州\n---\n杭州是省会。\n", "md", labeler=lb)
    ),
    "export: yaml writes the other front-matter keys": Case(
        "yaml", "pyyaml", act=lambda _, lb: export(lb.label("杭州是省会。"), "md", title="杭州")
    ),
    "export: python-docx writes a docx": Case(
        "docx", "python-docx", act=lambda _, lb: export(lb.label("杭州是省会。"), "docx")
    ),
    "export: python-docx reads a docx's text": Case(
        "docx",
        "python-docx",
        prepare=lambda tmp, lt: export(lt, "docx"),
        act=lambda data, lb: _docx().document_text(data),
    ),
    "export: lxml rewrites the docx property": Case(
        "lxml",
        "lxml",
        prepare=lambda tmp, lt: (export(lt, "docx"), lt.metadata),
        act=lambda prepared, lb: _docx().set_label(prepared[0], prepared[1].to_dict("bare")),
    ),
    "export: markdown-it-py renders html": Case(
        "markdown_it", "markdown-it-py", act=lambda _, lb: export(lb.label("杭州是省会。"), "html")
    ),
    "export: fpdf2 writes a pdf": Case("fpdf", "fpdf2", act=lambda _, lb: export(lb.label("杭州。"), "pdf")),
    "export: pikepdf stores the pdf label": Case(
        "pikepdf", "pikepdf", act=lambda _, lb: export(lb.label("杭州。"), "pdf")
    ),
}


def _docx() -> Any:
    from aigclabel.adapters.formats import docx

    return docx


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_missing_optional_module_names_an_extra_that_brings_it(
    case: Case, labeler: Labeler, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    With one optional module missing, the feature that needs it raises MissingDependencyError
    whose extra exists in pyproject.toml and lists the package, and whose message says how
    to install it.
    """
    prepared = case.prepare(tmp_path, labeler.label("杭州是浙江省的省会，以西湖闻名。"))
    monkeypatch.setitem(sys.modules, case.module, None)

    with pytest.raises(MissingDependencyError) as info:
        case.act(prepared, labeler)

    _assert_names_an_extra_that_brings(info.value, case.package)


def test_every_optional_module_has_a_case() -> None:
    """
    Each optional module the documents and files need is exercised above (the client
    libraries, the record store and langchain are covered by the bare-install tests).
    """
    covered = {case.module for case in CASES.values()}
    others = {"anthropic", "httpx2", "langchain_core", "openai", "psycopg", "sqlalchemy"}

    assert set(OPTIONAL_MODULES) == covered | others


def test_progress_bar_is_skipped_without_tqdm(
    labeler: Labeler, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    The default progress setting shows a bar only when tqdm is installed: without it a
    tree is still verified.
    """
    folder = _folder(tmp_path, labeler.label("杭州是浙江省的省会，以西湖闻名。"))
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)

    summary = verify_tree(folder, key=KEY)

    assert (1, 0) == (summary.files, summary.errors)


def _package_files() -> list[Path]:
    roots = {Path(m.__file__).resolve().parent for m in (aigclabel, aigclabel.middleware, aigclabel.adapters)}
    return sorted({p for root in roots for p in root.rglob("*.py")})


def _missing_dependency_calls() -> list[tuple[str, ast.Call]]:
    out = []
    for path in _package_files():
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "MissingDependencyError"
            ):
                out.append((f"{path.parent.name}/{path.name}:{node.lineno}", node))
    return out


def _literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BoolOp):  # exc.name or "psycopg": the fallback names the package
        return _literal(node.values[-1])
    return None


def test_every_missing_dependency_error_in_the_package_names_an_existing_extra() -> None:
    """
    Every ``MissingDependencyError(package, extra)`` in the package source (record store and
    adapters included) names an extra of pyproject.toml that brings that package.
    """
    calls = _missing_dependency_calls()
    wrong = []
    for where, call in calls:
        package, extra = (_literal(arg) for arg in call.args[:2])
        if extra not in EXTRAS or (package is not None and _dist(package) not in EXTRAS[extra]):
            wrong.append(f"{where}: {package!r} / {extra!r}")

    assert ([], True) == (wrong, len(calls) >= 10)


def test_missing_dependency_error_survives_pickling() -> None:
    """
    The error crosses a process pool intact (``verify_tree(workers=...)``): package, extra
    and message.
    """
    exc = MissingDependencyError("pyyaml", "files")

    copy = pickle.loads(pickle.dumps(exc))

    assert (MissingDependencyError, "pyyaml", "files", str(exc)) == (
        type(copy),
        copy.package,
        copy.extra,
        str(copy),
    )


# -- dependencies -------------------------------------------------------------------------


def test_langchain_is_an_extra_not_a_dependency() -> None:
    """
    langchain-core and langchain come only with ``[langchain]``, pinned to the tested majors.
    """
    required = {_dist(r) for r in PYPROJECT["project"]["dependencies"]}
    pins = sorted(PYPROJECT["project"]["optional-dependencies"]["langchain"])

    assert set() == required & {"langchain-core", "langchain"}
    assert ["langchain-core>=1.8,<2", "langchain>=1.5,<2"] == pins


def test_only_the_langchain_adapter_imports_langchain() -> None:
    """
    The ``[langchain]`` extra stays optional: no module outside ``aigclabel.adapters.langchain``
    imports langchain (that package raises MissingDependencyError without it).
    """
    adapter = Path(aigclabel.adapters.__file__).resolve().parent / "langchain"
    importers = []
    for path in _package_files():
        if adapter in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0].startswith(("langchain", "langgraph")) for n in names):
                importers.append(path.name)

    assert [] == importers


def test_langchain_adapter_without_langchain_core_names_the_extra() -> None:
    """
    Importing the adapter without langchain-core raises MissingDependencyError naming ``[langchain]``.
    """
    code = (
        "import sys\n"
        "sys.modules['langchain_core'] = None\n"
        "from aigclabel.exceptions import MissingDependencyError\n"
        "try:\n"
        "    import aigclabel.adapters.langchain\n"
        "except MissingDependencyError as exc:\n"
        "    print(exc.package, exc.extra)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )

    assert "langchain-core langchain" == done.stdout.strip()


# -- a bare install, simulated: every optional module blocked in a fresh interpreter ------

_BARE = f"""
import sys
for name in {OPTIONAL_MODULES!r}:
    sys.modules[name] = None
from aigclabel.adapters.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _bare(
    argv: list[str], stdin: bytes = b"", tmp_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIGCLABEL_", "OPENAI_"))}
    env["AIGCLABEL_KEY"] = KEY
    return subprocess.run(
        [sys.executable, "-c", _BARE, *argv],
        input=stdin.decode(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=120,
    )


@pytest.fixture(name="bare_labeled", scope="module")
def _bare_labeled() -> str:
    """
    A text labeled by ``aigclabel label`` on a bare install.
    """
    proc = _bare(["label", "--producer", PRODUCER], "杭州是浙江省的省会，以西湖闻名。".encode())
    assert (0, "") == (proc.returncode, proc.stderr)
    return proc.stdout


def test_bare_install_labels_and_verifies_text(bare_labeled: str) -> None:
    """
    Without any extra, ``label`` then ``verify`` finds an intact, confirmed label (exit 0).
    """
    proc = _bare(["verify", "-"], bare_labeled.encode())

    assert (0, True, True) == (
        proc.returncode,
        "tier: confirmed" in proc.stdout,
        "status: intact" in proc.stdout,
    )


@pytest.mark.parametrize(
    ("edit", "code"),
    [(lambda text: "杭州是一座城市。", 1), (lambda text: text.replace("西湖", "东湖"), 2)],
    ids=["unlabeled text exits 1", "edited text exits 2"],
)
def test_bare_install_verify_exit_codes(bare_labeled: str, edit: Callable[[str], str], code: int) -> None:
    """
    On a bare install, ``verify`` exits 1 for text without a label and 2 for edited text.
    """
    proc = _bare(["verify", "-"], edit(bare_labeled).encode())

    assert (code, "") == (proc.returncode, proc.stderr)


def test_bare_install_demo_runs_and_names_the_openai_extra() -> None:
    """
    ``aigclabel demo`` works without the openai extra: it streams through a wrapped
    ``httpx.Client`` instead and says which extra shows the OpenAI client.
    """
    proc = _bare(["demo"])

    assert (0, "", True, True) == (
        proc.returncode,
        proc.stderr,
        "pip install 'aigc-label[openai]'" in proc.stdout and "openai" in EXTRAS["openai"],
        "a wrapped httpx.Client streaming" in proc.stdout,
    )
    assert proc.stdout.count("tier: confirmed") >= 2  # the labeled text and the streamed one


@pytest.mark.parametrize(
    ("argv", "extra"),
    [
        (["export", "plain.md", "--to", "docx", "-o", "out.docx", "--producer", PRODUCER], "docx"),
        (["export", "front.md", "--to", "md", "-o", "out.md", "--producer", PRODUCER], "export"),
        (["export", "plain.md", "--to", "html", "-o", "out.html", "--producer", PRODUCER], "markdown"),
        (["verify", "front.md"], "files"),
    ],
    ids=["export docx", "export md", "export html", "verify md"],
)
def test_bare_install_file_command_exits_three_naming_the_extra(
    argv: list[str], extra: str, tmp_path: Path
) -> None:
    """
    A file feature on a bare install exits 3 with one line that names the extra to install.
    """
    (tmp_path / "front.md").write_text("---\ntitle: 杭州\n---\n杭州是浙江省的省会。\n", "utf-8")
    (tmp_path / "plain.md").write_text("# 杭州\n\n杭州是浙江省的省会。\n", "utf-8")

    proc = _bare(argv, tmp_path=tmp_path)

    assert (3, 1, True) == (
        proc.returncode,
        len(proc.stderr.splitlines()),
        f"pip install 'aigc-label[{extra}]'" in proc.stderr,
    )


def test_bare_install_missing_key_file_exits_three_in_one_line() -> None:
    """
    ``aigclabel verify --key-file /missing`` is bad input: exit 3 and one line, no traceback.
    """
    proc = _bare(["verify", "-", "--key-file", "/nonexistent/aigclabel.key"], b"x")

    assert (3, 1, True) == (
        proc.returncode,
        len(proc.stderr.splitlines()),
        proc.stderr.startswith("aigclabel: error: key: cannot read key file"),
    )


# -- import weight ---------------------------------------------------------------------------

#: Modules that ``import aigclabel`` must not load: the record store (an adapter), database
#: drivers, XML/YAML/document libraries, HTTP and LLM clients, and the outer layers.
IMPORT_DENY = (
    "aigclabel.adapters",
    "aigclabel.middleware",
    "structlog",
    *OPTIONAL_MODULES,
    "httpx",
    "asyncio",  # only async callers pay for it
)


def _loaded_by(statement: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", f"{statement}; import sys; print(chr(10).join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(proc.stdout.split())


def _denied(modules: set[str], deny: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == d or m.startswith(d + ".") for d in deny))


def test_import_aigclabel_loads_no_heavy_or_optional_module() -> None:
    """
    ``import aigclabel`` loads neither the record store nor SQLAlchemy, lxml, YAML, the
    document libraries, HTTP or LLM clients, nor the middleware and adapters.
    """
    assert [] == _denied(_loaded_by("import aigclabel"), IMPORT_DENY)


def test_cli_start_loads_no_optional_module() -> None:
    """
    Starting the ``aigclabel`` command imports no optional package (a bare install can run it).
    """
    assert [] == _denied(_loaded_by("import aigclabel.adapters.cli"), OPTIONAL_MODULES)


def test_readme_lists_every_extra() -> None:
    """
    The README's install line names exactly the extras a user may ask for (all but the
    developers' ``dev`` and ``lint``), so it cannot promise one that does not exist.
    """
    readme = (REPO / "README.md").read_text("utf-8")
    paragraph = readme[readme.index("To use the library in your own project") :].split("\n\n")[0]

    assert set(EXTRAS) - {"dev", "lint"} == set(re.findall(r"`\[([a-z]+)\]`", paragraph))
