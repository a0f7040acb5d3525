"""Which H.264 / HEVC packets hold reference frames, read from NAL unit headers without
decoding: the share of frames a NONREF-skipping decoder still has to decode, known before
choosing how to scan a video (the guided cut scan, ``select/cutscan_guided.py``). Counts equal FFmpeg's NONREF decode
counts on every H.264/HEVC file in the shared set."""

from __future__ import annotations

from typing import Iterator, Optional


def _nal_headers(data: bytes, length_size: Optional[int]) -> Iterator[tuple[int, int]]:
    """First two bytes of each NAL unit of one packet: length-prefixed (MP4/MKV: avcC/hvcC,
    ``length_size`` bytes) or, with ``length_size`` None, Annex B start codes (MPEG-TS)."""
    n = len(data)
    i = 0
    if length_size is None:
        while True:
            j = data.find(b"\x00\x00\x01", i)
            if j < 0 or j + 4 >= n:
                return
            yield data[j + 3], data[j + 4]
            i = j + 3
    while i + length_size < n:
        size = int.from_bytes(data[i:i + length_size], "big")
        k = i + length_size
        if size <= 0:
            return
        if k + 1 < n:
            yield data[k], data[k + 1]
        i = k + size


def is_reference(data: bytes, codec: str, length_size: Optional[int]) -> Optional[bool]:
    """Whether the packet's first slice is referenced by other frames (None: no slice)."""
    for b0, _ in _nal_headers(data, length_size):
        if codec == "h264":
            if b0 & 0x1F in (1, 5):  # coded slice: nal_ref_idc says
                return (b0 >> 5) & 3 != 0
        else:  # hevc: VCL types below 32; the even ones up to 14 are sub-layer non-reference
            t = (b0 >> 1) & 0x3F
            if t < 32:
                return not (t <= 14 and t % 2 == 0)
    return None


def length_size(codec: str, extradata: Optional[bytes], first_packet: bytes) -> Optional[int]:
    """Bytes of each NAL length prefix, or None for Annex B start codes."""
    if first_packet[:4] == b"\x00\x00\x00\x01" or first_packet[:3] == b"\x00\x00\x01":
        return None
    ed = extradata or b""
    if codec == "h264" and len(ed) > 4 and ed[0] == 1:
        return (ed[4] & 3) + 1
    if codec == "hevc" and len(ed) > 21 and ed[0] == 1:
        return (ed[21] & 3) + 1
    return 4
