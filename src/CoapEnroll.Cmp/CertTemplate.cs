using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>CertTemplate (RFC 4211 §5, IMPLICIT tags): every field optional; names, key and extensions kept as DER with universal tags.</summary>
public sealed class CertTemplate
{
    /// <summary>version [0].</summary>
    public int? Version { get; init; }

    /// <summary>serialNumber [1], as the big-endian two's complement content of the INTEGER.</summary>
    public ReadOnlyMemory<byte>? SerialNumber { get; init; }

    /// <summary>signingAlg [2].</summary>
    public CmpAlgorithmIdentifier? SigningAlg { get; init; }

    /// <summary>issuer [3], the DER of the Name.</summary>
    public ReadOnlyMemory<byte>? Issuer { get; init; }

    /// <summary>validity [4].</summary>
    public OptionalValidity? Validity { get; init; }

    /// <summary>subject [5], the DER of the Name.</summary>
    public ReadOnlyMemory<byte>? Subject { get; init; }

    /// <summary>publicKey [6], the DER of the SubjectPublicKeyInfo (universal SEQUENCE tag).</summary>
    public ReadOnlyMemory<byte>? PublicKey { get; init; }

    /// <summary>issuerUID [7], the whole implicitly tagged BIT STRING as received.</summary>
    public ReadOnlyMemory<byte>? IssuerUid { get; init; }

    /// <summary>subjectUID [8], the whole implicitly tagged BIT STRING as received.</summary>
    public ReadOnlyMemory<byte>? SubjectUid { get; init; }

    /// <summary>extensions [9], the DER of the Extensions SEQUENCE (universal SEQUENCE tag).</summary>
    public ReadOnlyMemory<byte>? Extensions { get; init; }

    internal static CertTemplate Read(AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        int? version = CmpDer.PeekIsContext(seq, 0) ? CmpDer.ReadInt32(seq, "version", CmpDer.Ctx(0)) : null;
        ReadOnlyMemory<byte>? serial = CmpDer.PeekIsContext(seq, 1) ? (ReadOnlyMemory<byte>?)seq.ReadIntegerBytes(CmpDer.Ctx(1)) : null;
        CmpAlgorithmIdentifier? signingAlg = CmpDer.PeekIsContext(seq, 2) ? CmpAlgorithmIdentifier.Read(seq, CmpDer.Ctx(2)) : null;
        ReadOnlyMemory<byte>? issuer = CmpDer.PeekIsContext(seq, 3) ? (ReadOnlyMemory<byte>?)ReadName(seq, 3) : null;
        OptionalValidity? validity = CmpDer.PeekIsContext(seq, 4) ? OptionalValidity.Read(seq, CmpDer.Ctx(4)) : null;
        ReadOnlyMemory<byte>? subject = CmpDer.PeekIsContext(seq, 5) ? (ReadOnlyMemory<byte>?)ReadName(seq, 5) : null;
        ReadOnlyMemory<byte>? publicKey = CmpDer.PeekIsContext(seq, 6) ? (ReadOnlyMemory<byte>?)CmpDer.ReadImplicitSequence(seq, 6) : null;
        ReadOnlyMemory<byte>? issuerUid = CmpDer.PeekIsContext(seq, 7) ? (ReadOnlyMemory<byte>?)ReadUid(seq, 7) : null;
        ReadOnlyMemory<byte>? subjectUid = CmpDer.PeekIsContext(seq, 8) ? (ReadOnlyMemory<byte>?)ReadUid(seq, 8) : null;
        ReadOnlyMemory<byte>? extensions = CmpDer.PeekIsContext(seq, 9) ? (ReadOnlyMemory<byte>?)CmpDer.ReadImplicitSequence(seq, 9) : null;
        seq.ThrowIfNotEmpty();
        if (extensions is { } ext && ext.Length == 2)
        {
            throw CmpDer.Invalid("certTemplate extensions is empty but SIZE (1..MAX)");
        }

        return new CertTemplate
        {
            Version = version,
            SerialNumber = serial,
            SigningAlg = signingAlg,
            Issuer = issuer,
            Validity = validity,
            Subject = subject,
            PublicKey = publicKey,
            IssuerUid = issuerUid,
            SubjectUid = subjectUid,
            Extensions = extensions,
        };
    }

    internal void WriteTo(AsnWriter writer)
    {
        writer.PushSequence();
        if (Version is { } v)
        {
            writer.WriteInteger(v, CmpDer.Ctx(0));
        }

        if (SerialNumber is { } s)
        {
            writer.WriteInteger(s.Span, CmpDer.Ctx(1));
        }

        SigningAlg?.WriteTo(writer, CmpDer.Ctx(2));
        if (Issuer is { } issuer)
        {
            CmpDer.WriteExplicitValue(writer, 3, issuer);
        }

        Validity?.WriteTo(writer, CmpDer.Ctx(4));
        if (Subject is { } subject)
        {
            CmpDer.WriteExplicitValue(writer, 5, subject);
        }

        if (PublicKey is { } key)
        {
            CmpDer.WriteImplicitSequence(writer, 6, key);
        }

        if (IssuerUid is { } iu)
        {
            writer.WriteEncodedValue(iu.Span);
        }

        if (SubjectUid is { } su)
        {
            writer.WriteEncodedValue(su.Span);
        }

        if (Extensions is { } ext)
        {
            CmpDer.WriteImplicitSequence(writer, 9, ext);
        }

        writer.PopSequence();
    }

    private static ReadOnlyMemory<byte> ReadName(AsnReader seq, int number)
    {
        ReadOnlyMemory<byte> name = CmpDer.ReadExplicitValue(seq, number);
        if (name.Span[0] != 0x30)
        {
            throw new AsnContentException($"certTemplate [{number}] is not a Name");
        }

        return name;
    }

    private static ReadOnlyMemory<byte> ReadUid(AsnReader seq, int number)
    {
        ReadOnlyMemory<byte> raw = seq.PeekEncodedValue();
        seq.ReadBitString(out _, CmpDer.Ctx(number));
        return raw;
    }
}
