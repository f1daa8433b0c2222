using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>An AlgorithmIdentifier: the algorithm OID and its parameters kept as received DER (absent and NULL differ).</summary>
public sealed class CmpAlgorithmIdentifier
{
    /// <summary>The algorithm's object identifier, dotted.</summary>
    public required string Algorithm { get; init; }

    /// <summary>The encoded parameters value, or <see langword="null"/> when absent.</summary>
    public ReadOnlyMemory<byte>? Parameters { get; init; }

    internal static CmpAlgorithmIdentifier Read(AsnReader reader, Asn1Tag? tag = null)
    {
        AsnReader seq = reader.ReadSequence(tag);
        string oid = seq.ReadObjectIdentifier();
        ReadOnlyMemory<byte>? parameters = seq.HasData ? (ReadOnlyMemory<byte>?)seq.ReadEncodedValue() : null;
        seq.ThrowIfNotEmpty();
        return new CmpAlgorithmIdentifier { Algorithm = oid, Parameters = parameters };
    }

    internal void WriteTo(AsnWriter writer, Asn1Tag? tag = null)
    {
        writer.PushSequence(tag);
        writer.WriteObjectIdentifier(Algorithm);
        if (Parameters is { } p)
        {
            writer.WriteEncodedValue(p.Span);
        }

        writer.PopSequence(tag);
    }
}
