using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>PKIMessage (RFC 9810 §5.1): header, body, protection and extraCerts (certificates kept as DER).</summary>
public sealed class PkiMessage
{
    /// <summary>header.</summary>
    public required PkiHeader Header { get; init; }

    /// <summary>body.</summary>
    public required PkiBody Body { get; init; }

    /// <summary>protection [0] BIT STRING (whole octets), if present.</summary>
    public ReadOnlyMemory<byte>? Protection { get; init; }

    /// <summary>extraCerts [1], each certificate's DER, protection certificate first.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>>? ExtraCerts { get; init; }

    /// <summary>The header and body DER exactly as received, when decoded.</summary>
    internal ReadOnlyMemory<byte>? ReceivedHeaderAndBody { get; init; }

    /// <summary>ProtectedPart ::= SEQUENCE { header, body }: built on the exact received bytes when decoded, else encoded from the model.</summary>
    public byte[] GetProtectedPart()
    {
        var writer = new AsnWriter(CmpDer.Rules);
        writer.PushSequence();
        if (ReceivedHeaderAndBody is { } received)
        {
            var reader = new AsnReader(received, CmpDer.Rules);
            while (reader.HasData)
            {
                writer.WriteEncodedValue(reader.ReadEncodedValue().Span);
            }
        }
        else
        {
            Header.WriteTo(writer);
            Body.WriteTo(writer);
        }

        writer.PopSequence();
        return writer.Encode();
    }

    internal static PkiMessage Read(AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        ReadOnlyMemory<byte> headerDer = seq.PeekEncodedValue();
        PkiHeader header = PkiHeader.Read(seq);
        ReadOnlyMemory<byte> bodyDer = seq.PeekEncodedValue();
        PkiBody body = PkiBody.Read(seq);
        ReadOnlyMemory<byte>? protection = null;
        IReadOnlyList<ReadOnlyMemory<byte>>? extraCerts = null;
        if (CmpDer.PeekIsContext(seq, 0))
        {
            AsnReader inner = seq.ReadSequence(CmpDer.Ctx(0));
            protection = CmpDer.ReadOctetAlignedBitString(inner, "protection");
            inner.ThrowIfNotEmpty();
        }

        if (CmpDer.PeekIsContext(seq, 1))
        {
            AsnReader inner = seq.ReadSequence(CmpDer.Ctx(1));
            extraCerts = CmpDer.ReadRawSequenceOf(inner, "extraCerts", nonEmpty: true);
            inner.ThrowIfNotEmpty();
            foreach (ReadOnlyMemory<byte> cert in extraCerts)
            {
                if (cert.Span[0] != 0x30)
                {
                    throw new AsnContentException("an extraCerts entry is not a Certificate SEQUENCE");
                }
            }
        }

        seq.ThrowIfNotEmpty();
        byte[] headerAndBody = new byte[headerDer.Length + bodyDer.Length];
        headerDer.CopyTo(headerAndBody);
        bodyDer.CopyTo(headerAndBody.AsMemory(headerDer.Length));
        return new PkiMessage
        {
            Header = header,
            Body = body,
            Protection = protection,
            ExtraCerts = extraCerts,
            ReceivedHeaderAndBody = headerAndBody,
        };
    }

    internal void WriteTo(AsnWriter writer)
    {
        writer.PushSequence();
        Header.WriteTo(writer);
        Body.WriteTo(writer);
        if (Protection is { } p)
        {
            writer.PushSequence(CmpDer.CtxC(0));
            writer.WriteBitString(p.Span);
            writer.PopSequence(CmpDer.CtxC(0));
        }

        if (ExtraCerts is { } certs)
        {
            writer.PushSequence(CmpDer.CtxC(1));
            CmpDer.WriteRawSequenceOf(writer, certs);
            writer.PopSequence(CmpDer.CtxC(1));
        }

        writer.PopSequence();
    }
}
