namespace CoapEnroll.Dtls;

/// <summary>
/// Iterates the records of one datagram (RFC 6347 §4.1.1: a datagram may carry several records, no
/// record spans datagrams). Stops at the first malformed record; the remainder is dropped because its
/// boundaries are unknown.
/// <code>
/// var reader = new DtlsRecordReader(datagram, cidLength);
/// while (reader.TryRead(out DtlsRecord record)) { ... }
/// if (reader.Status != RecordParseStatus.EndOfDatagram) { /* count a malformed datagram */ }
/// </code>
/// </summary>
internal ref struct DtlsRecordReader
{
    private readonly int _connectionIdLength;
    private ReadOnlySpan<byte> _remaining;

    public DtlsRecordReader(ReadOnlySpan<byte> datagram, int connectionIdLength)
    {
        _remaining = datagram;
        _connectionIdLength = connectionIdLength;
        Status = RecordParseStatus.Success;
    }

    /// <summary>Status of the last <see cref="TryRead"/>; <see cref="RecordParseStatus.EndOfDatagram"/> after a clean end.</summary>
    public RecordParseStatus Status { get; private set; }

    /// <summary>Reads the next record; false at the end or at the first malformed record (see <see cref="Status"/>).</summary>
    public bool TryRead(out DtlsRecord record)
    {
        if (Status is not RecordParseStatus.Success)
        {
            record = default;
            return false;
        }

        Status = DtlsRecordCodec.TryReadRecord(_remaining, _connectionIdLength, out record, out int consumed);
        if (Status != RecordParseStatus.Success)
        {
            _remaining = default;
            return false;
        }

        _remaining = _remaining[consumed..];
        return true;
    }
}
