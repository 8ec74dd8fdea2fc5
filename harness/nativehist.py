"""Native histogram samples into a test Prometheus, through its remote-write receiver.

``promtool tsdb create-blocks-from openmetrics`` cannot write native histograms, and
promtool 2.42's ``test rules`` cannot read them, so a test that needs them sends them the way
an agent would: a remote-write ``WriteRequest`` (protobuf, snappy-framed) posted to
``/api/v1/write`` of a Prometheus started with ``--web.enable-remote-write-receiver`` and
``--enable-feature=native-histograms``. The few protobuf fields and the snappy block format
(literals only, which every decoder accepts) are written here by hand: no new dependency.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

FLAGS = ("--web.enable-remote-write-receiver", "--enable-feature=native-histograms")


@dataclass(frozen=True, slots=True)
class Histogram:
    """One cumulative native histogram sample, schema 0: bucket ``i`` holds (2^(i-1), 2^i]."""

    at_ms: int
    first_index: int  # the index of ``counts[0]``
    counts: tuple[int, ...]  # consecutive buckets, cumulative over time (not over buckets)
    sum: float

    @property
    def count(self) -> int:
        return sum(self.counts)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def _field(number: int, wire: int) -> bytes:
    return _varint((number << 3) | wire)


def _bytes(number: int, payload: bytes) -> bytes:
    return _field(number, 2) + _varint(len(payload)) + payload


def _uint(number: int, value: int) -> bytes:
    return _field(number, 0) + _varint(value)


def _double(number: int, value: float) -> bytes:
    return _field(number, 1) + struct.pack("<d", value)


def _histogram(h: Histogram) -> bytes:
    span = _uint(1, _zigzag(h.first_index)) + _uint(2, len(h.counts))
    deltas = b"".join(
        _varint(_zigzag(c - (h.counts[i - 1] if i else 0))) for i, c in enumerate(h.counts)
    )
    return (
        _uint(1, h.count)  # count_int
        + _double(3, h.sum)
        + _uint(4, _zigzag(0))  # schema 0
        + _double(5, 0.0)  # zero_threshold
        + _uint(6, 0)  # zero_count_int
        + _bytes(11, span)  # positive_spans
        + _bytes(12, deltas)  # positive_deltas, packed
        + _uint(15, h.at_ms)  # timestamp
    )


Series = Sequence[tuple[Mapping[str, str], Sequence[Histogram]]]


def write_request(series: Series) -> bytes:
    """A ``WriteRequest``: one time series per (labels with ``__name__``, samples) entry."""
    out = b""
    for labels, samples in series:
        pairs = sorted(labels.items())
        body = b"".join(_bytes(1, _bytes(1, k.encode()) + _bytes(2, v.encode())) for k, v in pairs)
        body += b"".join(_bytes(4, _histogram(h)) for h in samples)
        out += _bytes(1, body)
    return out


def snappy_block(data: bytes) -> bytes:
    """Snappy's block format with literals only (valid input for every snappy decoder)."""
    out = bytearray(_varint(len(data)))
    for start in range(0, len(data), 65536):
        chunk = data[start : start + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 256:
            out += bytes([60 << 2, n])
        else:
            out += bytes([61 << 2]) + n.to_bytes(2, "little")
        out += chunk
    return bytes(out)


def remote_write(base_url: str, series: Series) -> None:
    """Post the samples; raises ``httpx.HTTPStatusError`` when Prometheus refuses them."""
    response = httpx.post(
        f"{base_url}/api/v1/write",
        content=snappy_block(write_request(series)),
        headers={
            "Content-Encoding": "snappy",
            "Content-Type": "application/x-protobuf",
            "X-Prometheus-Remote-Write-Version": "0.1.0",
        },
        timeout=10.0,
    )
    response.raise_for_status()
