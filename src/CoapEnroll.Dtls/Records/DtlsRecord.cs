namespace CoapEnroll.Dtls;

/// <summary>
/// One parsed record (RFC 6347 §4.1 DTLSPlaintext/DTLSCiphertext, RFC 9146 §4 for CID records), a view
/// over the datagram buffer: nothing is copied. <see cref="Payload"/> is the plaintext fragment at
/// epoch 0 and the explicit nonce + ciphertext + tag otherwise.
/// </summary>
internal readonly ref struct DtlsRecord
{
    public DtlsRecord(ContentType contentType, ushort version, ushort epoch, ulong sequenceNumber,
        ReadOnlySpan<byte> connectionId, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> header)
    {
        ContentType = contentType;
        Version = version;
        Epoch = epoch;
        SequenceNumber = sequenceNumber;
        ConnectionId = connectionId;
        Payload = payload;
        Header = header;
    }

    /// <summary>The outer content type; <see cref="ContentType.Tls12Cid"/> for a CID record.</summary>
    public ContentType ContentType { get; }

    /// <summary>The record version as on the wire (not validated beyond the major byte 254).</summary>
    public ushort Version { get; }

    public ushort Epoch { get; }

    /// <summary>The 48-bit record sequence number.</summary>
    public ulong SequenceNumber { get; }

    /// <summary>The connection ID; empty unless <see cref="HasConnectionId"/>.</summary>
    public ReadOnlySpan<byte> ConnectionId { get; }

    /// <summary>The record body (DTLSPlaintext.fragment or DTLSCiphertext.enc_content).</summary>
    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>The raw header bytes, 13 plus the CID length.</summary>
    public ReadOnlySpan<byte> Header { get; }

    public bool HasConnectionId => ContentType == ContentType.Tls12Cid;
}
