"""``vidtok search``: moments across a whole collection, from cached frame embeddings.

Frame embeddings (image-text encoder, frames at ``fps``) live in an embedded SQLite index
that updates incrementally: a video is (re)embedded only when it is new or its content
key changed; removed files are dropped. A query is embedded once and compared with every
stored frame; the best frames grow into moments (neighbouring frames whose score stays
within ``margin`` of the peak), top-k over the collection.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..cache import cache_dir, file_key
from ..errors import VidtokError

SCHEMA = """
CREATE TABLE IF NOT EXISTS videos (id INTEGER PRIMARY KEY, path TEXT UNIQUE, key TEXT, encoder TEXT,
                                   fps REAL, duration REAL, end_time REAL);
CREATE TABLE IF NOT EXISTS frames (video_id INTEGER, t REAL, emb BLOB);
CREATE INDEX IF NOT EXISTS frames_video ON frames(video_id);
"""


def default_index(folder: Path) -> Path:
    h = hashlib.sha1(str(Path(folder).resolve()).encode()).hexdigest()[:12]
    return cache_dir() / "search" / f"{Path(folder).name}-{h}.sqlite"


class SearchIndex:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path))
        self.db.executescript(SCHEMA)

    def update(self, videos: list[Path], encoder, encoder_name: str, fps: float,
               progress: Optional[Callable[[str, str], None]] = None, decode=None) -> dict:
        """Embed new or changed videos; drop vanished ones. Returns counts; errors per file.
        ``decode``: a ``DecodeOptions`` for opening each video (default options when None)."""
        from ..config import DecodeOptions
        from ..select.selectors import candidates, embed_frames

        stats = {"added": 0, "unchanged": 0, "removed": 0, "failed": []}
        keep = {str(v.resolve()) for v in videos}
        for vid, path in self.db.execute("SELECT id, path FROM videos").fetchall():
            if path not in keep:
                self.db.execute("DELETE FROM frames WHERE video_id=?", (vid,))
                self.db.execute("DELETE FROM videos WHERE id=?", (vid,))
                stats["removed"] += 1
        for v in videos:
            p = str(v.resolve())
            try:
                key = file_key(v)
                row = self.db.execute("SELECT id, key, encoder, fps FROM videos WHERE path=?", (p,)).fetchone()
                if row and row[1] == key and row[2] == encoder_name and row[3] == fps:
                    stats["unchanged"] += 1
                    if progress:
                        progress(p, "unchanged")
                    continue
                video = (decode or DecodeOptions()).open(v)
                idx = candidates(video, fps, max_frames=100_000)
                emb = embed_frames(video, idx, encoder).astype(np.float32)
                times = video.index.times[idx]
                if row:
                    self.db.execute("DELETE FROM frames WHERE video_id=?", (row[0],))
                    self.db.execute("DELETE FROM videos WHERE id=?", (row[0],))
                cur = self.db.execute(
                    "INSERT INTO videos(path, key, encoder, fps, duration, end_time) VALUES (?,?,?,?,?,?)",
                    (p, key, encoder_name, fps, video.info.duration, video.info.end_time))
                self.db.executemany("INSERT INTO frames(video_id, t, emb) VALUES (?,?,?)",
                                    [(cur.lastrowid, float(t), e.tobytes()) for t, e in zip(times, emb)])
                self.db.commit()
                stats["added"] += 1
                if progress:
                    progress(p, "added")
            except VidtokError as e:
                stats["failed"].append(e.one_line())
                if progress:
                    progress(p, "failed")
        self.db.commit()
        return stats

    def search(self, query_emb: np.ndarray, k: int = 10, margin: float = 0.02) -> list[dict]:
        rows = self.db.execute(
            "SELECT v.path, v.end_time, f.t, f.emb FROM frames f JOIN videos v ON v.id=f.video_id "
            "ORDER BY v.path, f.t").fetchall()
        if not rows:
            return []
        paths = [r[0] for r in rows]
        times = np.array([r[2] for r in rows])
        emb = np.stack([np.frombuffer(r[3], dtype=np.float32) for r in rows])
        scores = emb @ query_emb.astype(np.float32)
        used = np.zeros(len(rows), bool)
        out = []
        for i in np.argsort(-scores):
            if len(out) >= k:
                break
            if used[i]:
                continue
            lo = hi = i
            while lo - 1 >= 0 and paths[lo - 1] == paths[i] and not used[lo - 1] and scores[lo - 1] >= scores[i] - margin:
                lo -= 1
            while hi + 1 < len(rows) and paths[hi + 1] == paths[i] and not used[hi + 1] and scores[hi + 1] >= scores[i] - margin:
                hi += 1
            used[lo:hi + 1] = True
            end = times[hi + 1] if hi + 1 < len(rows) and paths[hi + 1] == paths[i] else rows[hi][1]
            out.append({"video": paths[i], "start": round(float(times[lo]), 3), "end": round(float(end), 3),
                        "score": float(scores[i])})
        return out

    def stats(self) -> dict:
        nv = self.db.execute("SELECT COUNT(*) FROM videos").fetchone()[0]
        nf = self.db.execute("SELECT COUNT(*) FROM frames").fetchone()[0]
        return {"index": str(self.path), "videos": nv, "frames": nf}
