using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>RevDetails: the template naming the certificate to revoke and crlEntryDetails (DER of the Extensions, e.g. the reason code).</summary>
public sealed class RevDetails
{
    /// <summary>certDetails.</summary>
    public required CertTemplate CertDetails { get; init; }

    /// <summary>crlEntryDetails, the DER of the Extensions SEQUENCE.</summary>
    public ReadOnlyMemory<byte>? CrlEntryDetails { get; init; }

    internal static RevDetails Read(AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        CertTemplate template = CertTemplate.Read(seq);
        ReadOnlyMemory<byte>? details = seq.HasData ? (ReadOnlyMemory<byte>?)CmpDer.ReadRawSequence(seq, "crlEntryDetails") : null;
        seq.ThrowIfNotEmpty();
        return new RevDetails { CertDetails = template, CrlEntryDetails = details };
    }

    internal void WriteTo(AsnWriter writer)
    {
        writer.PushSequence();
        CertDetails.WriteTo(writer);
        if (CrlEntryDetails is { } d)
        {
            writer.WriteEncodedValue(d.Span);
        }

        writer.PopSequence();
    }
}
