using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>CertStatus of certConf: certHash, certReqId, statusInfo and hashAlg [0] (cmp2021).</summary>
public sealed class CertStatus
{
    /// <summary>certHash.</summary>
    public required ReadOnlyMemory<byte> CertHash { get; init; }

    /// <summary>certReqId.</summary>
    public long CertReqId { get; init; }

    /// <summary>statusInfo; absent means accepted.</summary>
    public PkiStatusInfo? StatusInfo { get; init; }

    /// <summary>hashAlg [0].</summary>
    public CmpAlgorithmIdentifier? HashAlg { get; init; }

    internal static CertStatus Read(AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        ReadOnlyMemory<byte> hash = seq.ReadOctetString();
        long id = CmpDer.ReadInt64(seq, "certReqId");
        PkiStatusInfo? status = CmpDer.PeekIs(seq, Asn1Tag.Sequence) ? PkiStatusInfo.Read(seq) : null;
        CmpAlgorithmIdentifier? hashAlg = null;
        if (CmpDer.PeekIsContext(seq, 0))
        {
            AsnReader inner = seq.ReadSequence(CmpDer.Ctx(0));
            hashAlg = CmpAlgorithmIdentifier.Read(inner);
            inner.ThrowIfNotEmpty();
        }

        seq.ThrowIfNotEmpty();
        return new CertStatus { CertHash = hash, CertReqId = id, StatusInfo = status, HashAlg = hashAlg };
    }

    internal void WriteTo(AsnWriter writer)
    {
        writer.PushSequence();
        writer.WriteOctetString(CertHash.Span);
        writer.WriteInteger(CertReqId);
        StatusInfo?.WriteTo(writer);
        if (HashAlg is { } alg)
        {
            writer.PushSequence(CmpDer.CtxC(0));
            alg.WriteTo(writer);
            writer.PopSequence(CmpDer.CtxC(0));
        }

        writer.PopSequence();
    }
}
