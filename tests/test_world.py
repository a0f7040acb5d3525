"""The synthetic world: deterministic from its seed, every answer true of the pixels, no
colour question answerable from the picture's average, and read by `vidtok eval`."""

import json

import numpy as np
import pytest

from .conftest import run_cli


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from vidtok.world import write

    out = tmp_path_factory.mktemp("world")
    counts = write(out, 12, seed=3)
    return out, counts, json.loads((out / "items.json").read_text())


def test_the_same_seed_makes_the_same_world(world, tmp_path):
    from vidtok import open_video
    from vidtok.world import write

    out, counts, items = world
    assert write(tmp_path, 12, seed=3) == counts
    assert (tmp_path / "qa.jsonl").read_text() == (out / "qa.jsonl").read_text()
    assert (tmp_path / "charades_sta_test.txt").read_text() == (out / "charades_sta_test.txt").read_text()
    a, b = (open_video(p / "data" / "w3_00004.mp4") for p in (out, tmp_path))
    assert np.array_equal(a.get_frames(np.arange(len(a))).data, b.get_frames(np.arange(len(b))).data)


def test_every_object_is_where_and_when_the_truth_says(world):
    from vidtok import open_video
    from vidtok.world import COLORS, FPS, Thing

    out, _, items = world
    for v in items["videos"]:
        video = open_video(out / "data" / f"{v['video_id']}.mp4")
        assert len(video) == round(v["duration"] * FPS) and video.info.width == video.info.height == 112
        frames = video.get_frames(np.arange(len(video))).data.astype(int)
        for t in v["things"]:
            th = Thing(**{**t, "start": tuple(t["start"])})
            for i in range(len(video)):
                if not th.t1 <= i / FPS < th.t2:  # (its centre is defined while it is on screen)
                    continue
                x, y = (int(round(c)) for c in th.centre(i / FPS))
                seen = frames[i, y, x] if th.shape != "triangle" else frames[i, y + th.size // 4, x]
                want = np.array(COLORS[th.color_at(i / FPS)])
                others = [Thing(**{**o, "start": tuple(o["start"])}) for o in v["things"] if o is not t]
                near = [o for o in others if o.visible(i / FPS) and
                        max(abs(a - b) for a, b in zip(o.centre(i / FPS), (x, y))) <= (o.size + th.size) / 2 + 2]
                if near:  # another object may be drawn over this one here
                    continue
                if th.visible(i / FPS):
                    assert np.abs(seen - want).max() <= 40, (v["video_id"], th.shape, i)
                else:  # a blink: off
                    assert np.abs(seen - want).max() > 40, (v["video_id"], th.shape, i)


def test_every_answer_follows_from_the_truth(world):
    out, _, items = world
    kinds = set()
    for v in items["videos"]:
        things = v["things"]
        for q in v["questions"]:
            kinds.add(q["task_type"])
            right = q["options"]["ABCD".index(q["answer"])].split(". ", 1)[1]
            words = q["question"].rstrip("?").split()
            if q["task_type"] == "color":
                th = next(t for t in things if t["shape"] == words[-1])
                assert right == th["color"] and not th["turns_to"]
                # a distractor of another colour on screen at the same time: the average cannot tell
                assert any(o["color"] != th["color"] and max(o["t1"], th["t1"]) < min(o["t2"], th["t2"])
                           for o in things if o is not th)
            elif q["task_type"] == "direction":
                assert right == next(t for t in things if (t["color"], t["shape"]) == (words[-3], words[-2]))["direction"]
            elif q["task_type"] == "blinks":
                th = next(t for t in things if (t["color"], t["shape"]) == (words[-3], words[-2]))
                assert right == str(len(th["blinks"]))
            elif q["task_type"] == "turn":
                assert right == next(t for t in things if t["shape"] == words[4])["turns_to"]
            elif q["task_type"] == "order":
                assert right == min(things, key=lambda t: t["t1"])["shape"]
            else:
                color, shape = words[4], words[5]
                there = any(t["size"] <= 8 and (t["color"], t["shape"]) == (color, shape) and not t["turns_to"]
                            for t in things)
                assert right == ("yes" if there else "no")
    assert kinds >= {"color", "small"}


def test_vidtok_eval_reads_the_world(world, capsys):
    out, counts, _ = world
    code, stdout, err = run_cli(["eval", str(out / "qa.jsonl"), "--task", "qa", "-m", "random:qwen2_5_vl-tiny",
                                 "--limit", "2", "--json"], capsys)
    assert code == 0, err
    assert json.loads(stdout)["items"] == 2
    code, stdout, err = run_cli(["eval", str(out / "charades_sta_test.txt"), "--videos", str(out / "data"),
                                 "-m", "random:qwen2_5_vl-tiny", "--limit", "1", "--json"], capsys)
    assert code == 0, err
    assert json.loads(stdout)["items"] == 1
