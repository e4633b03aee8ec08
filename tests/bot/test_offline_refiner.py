"""The offline refiner writes a dense CogVideoX prompt and treats replies as edits."""

from bot.ports import RefineRequest
from bot.refiner.offline import OfflineRefiner
from bot.sessions import Turn


def refine(*texts):
    turns = tuple(Turn("user", t) for t in texts)
    return OfflineRefiner().refine(RefineRequest(turns=turns))


def test_the_prompt_keeps_the_idea_and_adds_setting_light_camera_and_style():
    prompt = refine("a red fox running through snow").prompt
    assert prompt.startswith("A red fox running through snow")
    assert "snow blankets the ground" in prompt
    assert "camera" in prompt.lower()
    assert "Photorealistic" in prompt


def test_the_prompt_fits_the_models_reading_length():
    prompt = refine("a red fox running through snow " + "with many details " * 80).prompt
    assert len(prompt.split()) <= 170


def test_a_reply_naming_a_light_replaces_the_light():
    before = refine("a fox at sunset").prompt
    after = refine("a fox at sunset", "make it night").prompt
    assert "golden-hour" in before and "golden-hour" not in after
    assert "It is night" in after


def test_a_reply_with_new_content_is_kept_as_a_detail():
    prompt = refine("a red fox running through snow", "add a second fox chasing it").prompt
    assert "A second fox chasing it." in prompt


def test_the_note_says_what_changed():
    assert refine("a fox", "slower camera").note == "Changed: camera."


def test_the_same_thread_gives_the_same_prompt():
    assert refine("a corgi surfing at sunset").prompt == refine("a corgi surfing at sunset").prompt
