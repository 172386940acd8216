"""Audio: a Score as a WAV file, through FluidSynth and a General MIDI soundfont when the machine
has them (``make audio`` installs Debian's ``fluidsynth`` and ``timgm6mb-soundfont``), else
through a small numpy synthesizer. :func:`engine` says which one will be used, in one line.

The numpy synthesizer plays each note as a few harmonics with an attack-decay-release envelope
at the note's pitch, so a WAV always holds real notes (tests check the spectrum).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from tunelab.errors import TunelabError
from tunelab.score import Score

RATE = 44100
DEFAULT_PROGRAM = 73  # General MIDI 74, Flute: a melodic instrument for single-line tunes
SOUNDFONT_DIRS = ("/usr/share/sounds/sf2", "/usr/share/soundfonts", "/usr/local/share/soundfonts")
PREFERRED = ("FluidR3_GM.sf2", "TimGM6mb.sf2", "default-GM.sf2")


def soundfont() -> Path | None:
    """The soundfont FluidSynth would use: $TUNELAB_SOUNDFONT, else a GM font from Debian's packages."""
    env = os.environ.get("TUNELAB_SOUNDFONT")
    if env:
        return Path(env) if Path(env).is_file() else None
    found = [Path(d) / name for name in PREFERRED for d in SOUNDFONT_DIRS if (Path(d) / name).is_file()]
    if not found:
        found = sorted(p for d in SOUNDFONT_DIRS if Path(d).is_dir() for p in Path(d).glob("*.sf2"))
    return found[0] if found else None


def engine(prefer: str = "auto") -> str:
    """``"fluidsynth"`` or ``"numpy"``: what :func:`write_wav` will use with ``prefer``."""
    if prefer not in ("auto", "fluidsynth", "numpy"):
        raise TunelabError(f"--synth must be auto, fluidsynth or numpy, got {prefer!r}")
    have = shutil.which("fluidsynth") is not None and soundfont() is not None
    if prefer == "fluidsynth" and not have:
        raise TunelabError("--synth fluidsynth: FluidSynth or a GM soundfont is missing (run `make audio`)")
    return "fluidsynth" if have and prefer != "numpy" else "numpy"


def notice(name: str, program: int) -> str:
    if name == "fluidsynth":
        return (
            f"audio: FluidSynth with {soundfont().name}, --program {program} (General MIDI, counted from 0)"
        )
    return "audio: numpy synthesizer (FluidSynth or a GM soundfont not found; `make audio` installs them)"


def write_wav(score: Score, path, program: int = DEFAULT_PROGRAM, prefer: str = "auto") -> str:
    """Render ``score`` to a 16-bit mono WAV at 44.1 kHz; returns the engine used."""
    name = engine(prefer)
    path = Path(path)
    if name == "fluidsynth":
        _fluidsynth(score, path, program)
    else:
        _write(path, synthesize(score))
    return name


def _fluidsynth(score: Score, path: Path, program: int) -> None:
    from tunelab.io.midi import write_midi

    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        write_midi(score.replace(meta={**score.meta, "program": program}), mid)
        cmd = [
            "fluidsynth",
            "-ni",
            "-q",
            "-g",
            "0.6",
            "-r",
            str(RATE),
            "-F",
            str(wav),
            str(soundfont()),
            str(mid),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if done.returncode or not wav.exists():
            raise TunelabError(f"{path}: FluidSynth failed: {(done.stderr or done.stdout).strip()[:200]}")
        os.replace(wav, path)


def synthesize(score: Score, rate: int = RATE, qpm: float | None = None) -> np.ndarray:
    """Float samples in [-1, 1]: each note as harmonics 1-4 under an envelope."""
    qpm = qpm or score.tempo or 120.0  # MIDI's default tempo, as FluidSynth plays a file without one
    sec = 60.0 / qpm / score.tpq  # seconds per tick
    total = int((score.end * sec + 0.5) * rate) + 1
    out = np.zeros(total)
    for onset, duration, pitch, velocity in score.notes():
        start, n = int(onset * sec * rate), max(1, int(duration * sec * rate))
        t = np.arange(n + int(0.05 * rate)) / rate  # 50 ms release past the note
        f = 440.0 * 2 ** ((pitch - 69) / 12)
        wave_ = sum(a * np.sin(2 * np.pi * f * k * t) for k, a in ((1, 1.0), (2, 0.4), (3, 0.2), (4, 0.1)))
        env = np.minimum(1.0, t / 0.01) * np.exp(-1.5 * t)  # 10 ms attack, slow decay
        env[n:] *= np.exp(-(t[n:] - t[n]) / 0.015)  # release
        seg = wave_ * env * (velocity / 127)
        end = min(total, start + len(seg))
        out[start:end] += seg[: end - start]
    peak = np.abs(out).max()
    return out / peak * 0.8 if peak > 0 else out


def _write(path: Path, samples: np.ndarray, rate: int = RATE) -> None:
    from tunelab.io.atomic import atomic_write_bytes

    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_wav = Path(tmp) / "out.wav"
        with wave.open(str(tmp_wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(pcm.tobytes())
        atomic_write_bytes(path, tmp_wav.read_bytes())


def read_wav(path) -> tuple[np.ndarray, int]:
    """(mono float samples, rate) of a 16-bit WAV (FluidSynth writes stereo: averaged)."""
    with wave.open(str(path), "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype={2: "<i2", 4: "<i4"}[width])
    return data.reshape(-1, channels).mean(axis=1) / float(2 ** (8 * width - 1)), rate
