"""Where a corpus's pieces come from: built-in collections, folders, files, split folders."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tunelab.corpus.prepare import files_fingerprint, read_all
from tunelab.errors import ConfigError

# The German collections of the Essen folk songs among music21's essenFolksong ABC files.
DEUTSCHL_BOOKS = ("altdeu", "ballad", "boehme", "dva", "erk", "fink", "kinder", "variant", "zuccal")
ESSEN_DIALECT = {"propagate": "pitch", "bare_key": None}
ESSEN_NOTICE = (
    "deutschl: the Essen Folk Song Collection (EsAC, encoded under Helmut Schaffrath; ABC by "
    "Seymour Schlien), as shipped with music21. Distributed for research and NON-COMMERCIAL use "
    "only; see music21/corpus/essenFolksong/license.txt."
)


@dataclass
class Source:
    """A corpus before preparation: a name, what identifies its content, and how to read it.

    ``tasks`` lists ``(kind, source, ident, payload)``; ``make_tasks`` builds them on demand, so a
    cached corpus never pays for it.
    """

    name: str
    description: str
    tasks: list = field(default_factory=list)
    files: list = field(default_factory=list)
    root: Path | None = None
    notice: str = ""
    explicit_split: dict | None = None
    salt: str = ""
    make_tasks: Callable[[], list] | None = None

    def fingerprint(self) -> str:
        return self.salt + files_fingerprint(self.files, self.root)

    def read(self, *, ties: str, jobs: int | None, progress: bool) -> list[tuple]:
        if self.make_tasks is not None:
            self.tasks, self.make_tasks = self.make_tasks(), None
        tasks = [(kind, src, ident, payload, ties) for kind, src, ident, payload in self.tasks]
        return read_all(tasks, jobs=jobs, desc=f"reading {self.name}" if progress else "")


def piece_id(path, root) -> str:
    """A file's id in its corpus: its path under the corpus folder, with its extension
    (``song.abc`` and ``song.mid`` are two pieces), ``/`` between folders on every system."""
    return os.path.relpath(path, root).replace(os.sep, "/")


def split_key(ident: str) -> str:
    """What the hash split reads of an id: the path without its extension and the ``#`` of a
    tune's number, lower case, so that one collection's ABC tunebook and the MIDI files made from
    it (``jigs.abc#1`` and abc2midi's ``jigs1.mid``) land in the same split."""
    path, _, tune = ident.partition("#")
    stem, ext = os.path.splitext(path)
    return (stem if ext else path).lower() + tune.lower()


def _music21_corpus_dir() -> Path:
    """music21's corpus folder, found without importing music21 (which takes half a second)."""
    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.submodule_search_locations:
        from tunelab.errors import MissingDependency

        raise MissingDependency("music21", "the built-in corpora")
    return Path(next(iter(spec.submodule_search_locations))) / "corpus"


def abc_tune_tasks(files, root: Path, dialect: dict | None = None) -> list:
    """One reading task per tune of each ABC file (a tunebook of 2,000 tunes is read in parallel,
    tune by tune, and its progress counts tunes), ids ``path/without/suffix#X``. ``dialect``:
    reader options for a collection that departs from ABC 2.1 (``propagate``, ``bare_key``)."""
    dialect = dialect or {}
    from tunelab.io.abc import read_text, split_tunebook

    tasks = []
    for f in files:
        ident = piece_id(f, root)
        try:
            _, tunes = split_tunebook(read_text(f))
        except Exception:
            tunes = []
        if not tunes:
            tasks.append(("file", str(f), ident, None))
            continue
        if len(tunes) == 1:  # a one-tune file: the tune is the file (its id has no #X)
            tasks.append(("abc-tune", str(f), ident, (tunes[0][0], tunes[0][1], dialect)))
            continue
        tasks += [("abc-tune", str(f), f"{ident}#{n}", (n, text, dialect)) for n, text in tunes]
    return tasks


def _deutschl() -> Source:
    folder = _music21_corpus_dir() / "essenFolksong"
    files = sorted(p for p in folder.glob("*.abc") if p.stem.rstrip("0123456789") in DEUTSCHL_BOOKS)
    # Schlien's EsAC-to-ABC conversion lets an accidental reach every octave of its letter to the
    # barline: against the kern edition, 5,075 of 5,228 tunes agree note for note this way, 5,049
    # with ABC 2.1's same-octave rule (benchmarks/results); and it writes K:G for G minor as well
    # as G major (accidentals written out), so a bare tonic says nothing of the mode here.
    return Source("deutschl", BUILTINS["deutschl"].description, [], files, folder, ESSEN_NOTICE,
                  make_tasks=lambda: abc_tune_tasks(files, folder, ESSEN_DIALECT))  # fmt: skip


def _music21_tunebook(name: str, folder_name: str) -> Source:
    folder = _music21_corpus_dir() / folder_name
    files = sorted(folder.glob("*.abc"))
    return Source(name, BUILTINS[name].description, [], files, folder,
                  make_tasks=lambda: abc_tune_tasks(files, folder))  # fmt: skip


def _bach_chorales(part: int | None = None, name: str = "bach-chorales") -> Source:
    """The chorales, every voice (``part`` None) or one part of each (0: the soprano, the melody
    IDyOM's chorale set takes)."""
    folder = _music21_corpus_dir() / "bach"
    files = sorted(folder.glob("*.mxl"))  # the fingerprint covers the folder; no music21 import

    def make_tasks() -> list:
        from tunelab.io.m21 import music21

        m21 = music21()
        tasks, seen = [], set()
        for name in m21.corpus.chorales.Iterator(returnType="filename"):
            ident = name.split("/")[-1]
            if ident in seen:  # the Riemenschneider index names a few chorales twice
                continue
            seen.add(ident)
            work = m21.corpus.getWork(name)  # a list when the work has several files: take one
            path = work[0] if isinstance(work, list) else work
            tasks.append(
                ("file", str(path), ident, None) if part is None else ("part", str(path), ident, part)
            )
        return tasks

    return Source(name, BUILTINS[name].description, [], files, folder, make_tasks=make_tasks)


@dataclass(frozen=True)
class Builtin:
    description: str
    make: object


BUILTINS = {
    "deutschl": Builtin(
        "German Essen folk songs from music21's ABC (about 6,000 tunes; non-commercial)", _deutschl
    ),
    "bach-chorales": Builtin("J. S. Bach's 371 four-part chorales from music21 (polyphonic)", _bach_chorales),
    "bach-soprano": Builtin(
        "the soprano line of each of those chorales (their melodies, as IDyOM's chorale set)",
        lambda: _bach_chorales(part=0, name="bach-soprano"),
    ),
    "oneills": Builtin(
        "O'Neill's Music of Ireland (1850 collection, 2,009 tunes transcribed in ABC) from music21",
        lambda: _music21_tunebook("oneills", "oneills1850"),
    ),
    "ryans": Builtin(
        "Ryan's Mammoth Collection of fiddle tunes (1883; 1,059 tunes in ABC) from music21",
        lambda: _music21_tunebook("ryans", "ryansMammoth"),
    ),
}


def resolve(name_or_path) -> Source:
    """A Source for a built-in name, a split folder, a folder or a file."""
    key = str(name_or_path)
    if key in BUILTINS:
        return BUILTINS[key].make()
    path = Path(name_or_path)
    if not path.exists():
        known = ", ".join(BUILTINS)
        raise ConfigError(f"{key}: no such corpus, file or folder (built-in corpora: {known})")
    if path.is_dir() and all((path / f"{s}.txt").is_file() for s in ("train", "val", "test")):
        return _split_folder(path)
    from tunelab.io import list_files

    files = list_files(path)
    if not files:
        raise ConfigError(f"{path}: no ABC, kern, MusicXML, MIDI or grid-text files in it")
    root = path if path.is_dir() else path.parent
    abc = [f for f in files if f.suffix.lower() == ".abc"]
    tasks = [("file", str(f), piece_id(f, root), None) for f in files if f.suffix.lower() != ".abc"]
    if abc:  # tunebooks tune by tune, built when the corpus is read (a cached one never pays)
        return Source(path.name or str(path), f"files under {path}", [], files, root,
                      make_tasks=lambda: tasks + abc_tune_tasks(abc, root))  # fmt: skip
    return Source(path.name or str(path), f"files under {path}", tasks, files, root)


def _split_folder(path: Path) -> Source:
    """A folder with train.txt / val.txt / test.txt: grid text, one song a line, split fixed."""
    files = [path / f"{s}.txt" for s in ("train", "val", "test")]
    tasks = [("file", str(f), f.name, None) for f in files]
    explicit = {}
    for f in files:
        with open(f, encoding="utf-8") as lines:
            n = sum(1 for _ in lines)
        explicit.update({f"{f.name}#{i}": f.stem for i in range(1, n + 1)})
        explicit[f.name] = f.stem  # a split file with a single song
    return Source(path.name, f"grid-text split folder {path}", tasks, files, path, explicit_split=explicit)
