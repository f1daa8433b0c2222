using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>CertResponse: certReqId, status, the certified key pair and rspInfo.</summary>
public sealed class CertResponse
{
    /// <summary>certReqId.</summary>
    public long CertReqId { get; init; }

    /// <summary>status.</summary>
    public required PkiStatusInfo Status { get; init; }

    /// <summary>certifiedKeyPair, if present.</summary>
    public CertifiedKeyPair? CertifiedKeyPair { get; init; }

    /// <summary>rspInfo OCTET STRING content, if present.</summary>
    public ReadOnlyMemory<byte>? RspInfo { get; init; }

    internal static CertResponse Read(AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        long id = CmpDer.ReadInt64(seq, "certReqId");
        PkiStatusInfo status = PkiStatusInfo.Read(seq);
        CertifiedKeyPair? pair = CmpDer.PeekIs(seq, Asn1Tag.Sequence) ? CertifiedKeyPair.Read(seq) : null;
        ReadOnlyMemory<byte>? rspInfo = seq.HasData ? (ReadOnlyMemory<byte>?)seq.ReadOctetString() : null;
        seq.ThrowIfNotEmpty();
        return new CertResponse { CertReqId = id, Status = status, CertifiedKeyPair = pair, RspInfo = rspInfo };
    }

    internal void WriteTo(AsnWriter writer)
    {
        writer.PushSequence();
        writer.WriteInteger(CertReqId);
        Status.WriteTo(writer);
        CertifiedKeyPair?.WriteTo(writer);
        if (RspInfo is { } r)
        {
            writer.WriteOctetString(r.Span);
        }

        writer.PopSequence();
    }
}
