namespace CoapEnroll.Dtls;

/// <summary>
/// The RFC 6347 §4.1.2.6 sliding anti-replay window for one epoch: 64 records, bit i set when
/// (highest - i) has been received. Usage: <see cref="Check"/> before decrypting (cheap rejection of
/// duplicates and stale records), <see cref="Mark"/> only after the record authenticated, so a forged
/// record can neither advance the window nor burn a sequence number. One instance per epoch; create a
/// fresh one when the read epoch changes. A mutable struct, held in a field (never copied) so that an
/// established session's windows cost 32 bytes inline instead of two objects. Not thread-safe (records of one connection are processed
/// serially).
/// </summary>
internal struct AntiReplayWindow
{
    /// <summary>Window size in records.</summary>
    public const int Size = 64;

    private ulong _highest;
    private ulong _bitmap; // bit 0 (the highest) is set by the first Mark and stays set: non-zero means "any record marked"

    /// <summary>The highest authenticated sequence number, or null if none yet.</summary>
    public ulong? Highest => _bitmap != 0 ? _highest : null;

    /// <summary>
    /// True when <paramref name="sequenceNumber"/> is new: beyond the highest seen, or inside the window
    /// and not yet marked. False for duplicates and for records older than the window.
    /// </summary>
    public bool Check(ulong sequenceNumber)
    {
        if (sequenceNumber > DtlsRecordCodec.MaxSequenceNumber)
        {
            return false;
        }

        if (_bitmap == 0 || sequenceNumber > _highest)
        {
            return true;
        }

        ulong offset = _highest - sequenceNumber;
        return offset < Size && (_bitmap & (1UL << (int)offset)) == 0;
    }

    /// <summary>
    /// Records an authenticated sequence number. Returns true when it is the newest seen so far in this
    /// epoch (RFC 9146 §6 requires that before a CID peer's address may be updated). Call after
    /// <see cref="Check"/> returned true and the record authenticated.
    /// </summary>
    public bool Mark(ulong sequenceNumber)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sequenceNumber, DtlsRecordCodec.MaxSequenceNumber);
        if (_bitmap == 0)
        {
            _highest = sequenceNumber;
            _bitmap = 1;
            return true;
        }

        if (sequenceNumber > _highest)
        {
            ulong shift = sequenceNumber - _highest;
            _bitmap = shift >= Size ? 1 : (_bitmap << (int)shift) | 1;
            _highest = sequenceNumber;
            return true;
        }

        ulong offset = _highest - sequenceNumber;
        if (offset < Size)
        {
            _bitmap |= 1UL << (int)offset;
        }

        return false;
    }

    /// <summary>Forgets everything (new epoch).</summary>
    public void Reset()
    {
        _highest = 0;
        _bitmap = 0;
    }
}
