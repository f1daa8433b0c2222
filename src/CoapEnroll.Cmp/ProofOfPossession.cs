using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>ProofOfPossession: raVerified, a signature (decoded into algorithm, signature and optional poposkInput) or a POPOPrivKey (kept as DER).</summary>
public sealed class ProofOfPossession
{
    /// <summary>Which alternative this is.</summary>
    public required ProofOfPossessionKind Kind { get; init; }

    /// <summary>For <see cref="ProofOfPossessionKind.Signature"/>: poposkInput [0] as received DER (implicitly tagged), if present.</summary>
    public ReadOnlyMemory<byte>? PoposkInput { get; init; }

    /// <summary>For <see cref="ProofOfPossessionKind.Signature"/>: the signature algorithm.</summary>
    public CmpAlgorithmIdentifier? SignatureAlgorithm { get; init; }

    /// <summary>For <see cref="ProofOfPossessionKind.Signature"/>: the signature value.</summary>
    public ReadOnlyMemory<byte>? Signature { get; init; }

    /// <summary>For keyEncipherment and keyAgreement: the DER of the POPOPrivKey alternative inside the explicit tag.</summary>
    public ReadOnlyMemory<byte>? PrivKey { get; init; }

    internal static ProofOfPossession Read(AsnReader reader)
    {
        Asn1Tag tag = reader.PeekTag();
        switch (tag.TagValue)
        {
            case 0:
                reader.ReadNull(CmpDer.Ctx(0));
                return new ProofOfPossession { Kind = ProofOfPossessionKind.RaVerified };
            case 1:
                AsnReader seq = reader.ReadSequence(CmpDer.Ctx(1));
                ReadOnlyMemory<byte>? input = CmpDer.PeekIsContext(seq, 0) ? (ReadOnlyMemory<byte>?)seq.ReadEncodedValue() : null;
                if (input is { } i && !Asn1Tag.Decode(i.Span, out _).IsConstructed)
                {
                    throw new AsnContentException("poposkInput is not constructed");
                }

                CmpAlgorithmIdentifier alg = CmpAlgorithmIdentifier.Read(seq);
                byte[] signature = CmpDer.ReadOctetAlignedBitString(seq, "POPOSigningKey signature");
                seq.ThrowIfNotEmpty();
                return new ProofOfPossession { Kind = ProofOfPossessionKind.Signature, PoposkInput = input, SignatureAlgorithm = alg, Signature = signature };
            case 2:
            case 3:
                ReadOnlyMemory<byte> inner = CmpDer.ReadExplicitValue(reader, tag.TagValue);
                Asn1Tag innerTag = Asn1Tag.Decode(inner.Span, out _);
                if (innerTag.TagClass != TagClass.ContextSpecific || innerTag.TagValue > 4)
                {
                    throw new AsnContentException("POPOPrivKey has a tag outside [0]..[4]");
                }

                return new ProofOfPossession { Kind = (ProofOfPossessionKind)tag.TagValue, PrivKey = inner };
            default:
                throw new AsnContentException("ProofOfPossession has a tag outside [0]..[3]");
        }
    }

    internal void WriteTo(AsnWriter writer)
    {
        switch (Kind)
        {
            case ProofOfPossessionKind.RaVerified:
                writer.WriteNull(CmpDer.Ctx(0));
                break;
            case ProofOfPossessionKind.Signature:
                writer.PushSequence(CmpDer.CtxC(1));
                if (PoposkInput is { } i)
                {
                    writer.WriteEncodedValue(i.Span);
                }

                (SignatureAlgorithm ?? throw new InvalidOperationException("signature POP without algorithm")).WriteTo(writer);
                writer.WriteBitString((Signature ?? throw new InvalidOperationException("signature POP without signature")).Span);
                writer.PopSequence(CmpDer.CtxC(1));
                break;
            default:
                CmpDer.WriteExplicitValue(writer, (int)Kind, PrivKey ?? throw new InvalidOperationException("POPOPrivKey missing"));
                break;
        }
    }
}
