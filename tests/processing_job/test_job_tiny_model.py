"""The tiny CogVideoX is built once, the same everywhere, and loads like a downloaded model."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from processing_job.tiny import MARKER_FILE, ensure_tiny_model, is_current


def files_of(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_asking_again_reuses_the_built_model(model_cache):
    folder = model_cache / "tiny"
    before = (folder / "model_index.json").stat().st_mtime_ns
    assert ensure_tiny_model(model_cache) == folder
    assert (folder / "model_index.json").stat().st_mtime_ns == before


def test_two_builds_are_byte_for_byte_the_same(model_cache, tmp_path):
    assert files_of(ensure_tiny_model(tmp_path)) == files_of(model_cache / "tiny")


def test_racing_builders_end_with_one_complete_model(tmp_path):
    with ThreadPoolExecutor(max_workers=4) as pool:
        folders = list(pool.map(lambda _: ensure_tiny_model(tmp_path), range(4)))
    assert set(folders) == {tmp_path / "tiny"}
    assert is_current(tmp_path / "tiny")
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["tiny"]


def test_a_model_from_an_older_recipe_is_rebuilt(tmp_path):
    folder = ensure_tiny_model(tmp_path)
    (folder / MARKER_FILE).write_text(json.dumps({"recipe": 0}))
    (folder / "leftover.txt").write_text("from the old recipe")
    assert ensure_tiny_model(tmp_path) == folder
    assert is_current(folder) and not (folder / "leftover.txt").exists()


def test_its_tokenizer_reads_prompt_words_as_t5_does(tiny_pipeline):
    tokenizer = tiny_pipeline.pipe.tokenizer
    ids = tokenizer("a corgi surfing at sunset").input_ids
    assert ids[-1] == tokenizer.eos_token_id == 1 and tokenizer.pad_token_id == 0
    assert tokenizer.unk_token_id not in ids  # the words were in its training corpus
    assert tiny_pipeline.pipe.text_encoder.config.vocab_size == len(tokenizer)
    assert tiny_pipeline.max_sequence_length == 226
