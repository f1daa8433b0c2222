using CoapEnroll.Dtls;

namespace CoapEnroll.Fuzz;

/// <summary>
/// The DTLS record layer (RFC 6347 §4.1, RFC 9146 tls12_cid): every record of one datagram, read with a CID length the
/// first byte picks. A protected record must be refused by <see cref="DtlsRecordProtection.TryOpen"/> under keys it was
/// not sealed with, and its payload, sealed under each suite, must open to the same bytes. Alerts and handshake
/// fragments in it are parsed as the connection parses them.
/// </summary>
internal sealed class DtlsRecordTarget : IFuzzTarget
{
    private static readonly int[] ConnectionIdLengths = [0, 4, 8, 1];
    // The protection keeps only what the record layout needs of its suite; the suite is kept beside it for messages.
    private static readonly (CipherSuiteInfo Suite, DtlsRecordProtection Protection)[] Protections =
        [.. CipherSuiteInfo.All.Select(suite => (suite, DtlsRecordProtection.Create(suite, new byte[suite.EncryptionKeyLength], new byte[suite.FixedIvLength])))];

    public string Name => "dtls-record";

    public string Description => "DtlsRecordReader, DtlsRecordProtection.TryOpen/Seal round trip, alerts, handshake headers";

    public void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        int cidLength = ConnectionIdLengths[input[0] & 3];
        var reader = new DtlsRecordReader(input[1..], cidLength);
        byte[] buffer = new byte[DtlsRecordCodec.MaxCiphertextLength + 512];
        while (reader.TryRead(out DtlsRecord record))
        {
            if (record.Header.Length != DtlsRecordCodec.GetHeaderLength(record.HasConnectionId ? cidLength : 0))
            {
                throw new FuzzInvariantException($"a header of {record.Header.Length} bytes with CID length {cidLength}");
            }

            if (record.Epoch > 0)
            {
                foreach ((_, DtlsRecordProtection protection) in Protections)
                {
                    // The fuzzer cannot forge a tag: anything else than false means the open path misread the record.
                    if (protection.TryOpen(record, buffer, out _, out _))
                    {
                        throw new FuzzInvariantException("a record opened under an all-zero key it was never sealed with");
                    }
                }

                RoundTrip(record, cidLength, buffer);
            }
            else if (record.ContentType == ContentType.Alert)
            {
                DtlsAlert.TryParse(record.Payload, out _);
            }
            else if (record.ContentType == ContentType.Handshake)
            {
                ReadOnlySpan<byte> payload = record.Payload;
                while (HandshakeHeader.TryRead(payload, out HandshakeHeader header, out ReadOnlySpan<byte> fragment, out int consumed))
                {
                    if (fragment.Length != header.FragmentLength || consumed != HandshakeHeader.Size + fragment.Length)
                    {
                        throw new FuzzInvariantException("a handshake fragment whose length disagrees with its header");
                    }

                    payload = payload[consumed..];
                }
            }
        }
    }

    // Seals the record's payload, as plaintext of its content type, under every suite and opens it again.
    private static void RoundTrip(DtlsRecord record, int cidLength, byte[] buffer)
    {
        ContentType type = record.ContentType is ContentType.Tls12Cid or ContentType.Invalid ? ContentType.ApplicationData : record.ContentType;
        ReadOnlySpan<byte> plaintext = record.Payload[..Math.Min(record.Payload.Length, DtlsRecordCodec.MaxPlaintextLength)];
        ReadOnlySpan<byte> cid = record.HasConnectionId ? record.ConnectionId : default;
        byte[] opened = new byte[DtlsRecordCodec.MaxCiphertextLength];
        foreach ((CipherSuiteInfo suite, DtlsRecordProtection protection) in Protections)
        {
            int length = protection.Seal(buffer, type, record.Epoch, record.SequenceNumber, plaintext, cid);
            if (DtlsRecordCodec.TryReadRecord(buffer.AsSpan(0, length), cid.IsEmpty ? 0 : cidLength, out DtlsRecord sealedRecord, out int consumed) != RecordParseStatus.Success ||
                consumed != length)
            {
                throw new FuzzInvariantException("a sealed record does not parse back");
            }

            if (!protection.TryOpen(sealedRecord, opened, out ContentType openedType, out int openedLength) ||
                openedType != type || !opened.AsSpan(0, openedLength).SequenceEqual(plaintext))
            {
                throw new FuzzInvariantException($"a record sealed under {suite.Suite} does not open to its plaintext");
            }
        }
    }
}
