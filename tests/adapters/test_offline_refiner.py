"""The offline refiner writes a dense CogVideoX prompt and treats replies as edits."""

from bot.adapters.refiner.offline import OfflineRefiner
from bot.conversation.ports import RefineRequest
from bot.conversation.sessions import Turn


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


def test_a_picture_gets_a_motion_prompt_that_keeps_the_picture():
    turns = (Turn("user", "Animate this picture.", "UALICE"),)
    result = OfflineRefiner().refine(RefineRequest(turns=turns, mode="i2v"))
    assert result.prompt.startswith("The scene in the picture comes to life, keeping its subject")
    assert "camera" in result.prompt and result.note == "Added motion, camera and style to the picture."


def test_words_shared_with_a_picture_direct_its_motion():
    turns = (Turn("user", "the waves roll in at sunset", "UALICE"),)
    prompt = OfflineRefiner().refine(RefineRequest(turns=turns, mode="i2v")).prompt
    assert "The waves roll in at sunset." in prompt and "golden-hour" in prompt
