using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>
/// ckuann (RFC 9810 §5.3.13): CAKeyUpdContent ::= CHOICE { cAKeyUpdAnnV2 CAKeyUpdAnnContent (deprecated: all three certificates),
/// cAKeyUpdAnnV3 [0] RootCaKeyUpdateContent (newWithNew, optional [0] newWithOld and [1] oldWithNew; pvno 3) }. Certificates are
/// kept as their DER. The server sends cAKeyUpdAnnV3 after a root CA key rollover (<see cref="CmpServer.CreateCaKeyUpdateAnnouncementAsync"/>).
/// </summary>
public sealed class CkuAnnBody : PkiBody
{
    /// <inheritdoc/>
    public override PkiBodyType BodyType => PkiBodyType.Ckuann;

    /// <summary>True for cAKeyUpdAnnV3 (RootCaKeyUpdateContent), false for the deprecated cAKeyUpdAnnV2, which needs all three certificates.</summary>
    public bool IsV3 { get; init; } = true;

    /// <summary>The new root CA certificate, signed with the new key.</summary>
    public required ReadOnlyMemory<byte> NewWithNew { get; init; }

    /// <summary>The new root CA public key signed with the old key, if given.</summary>
    public ReadOnlyMemory<byte>? NewWithOld { get; init; }

    /// <summary>The old root CA public key signed with the new key, if given.</summary>
    public ReadOnlyMemory<byte>? OldWithNew { get; init; }

    internal static CkuAnnBody ReadContent(AsnReader reader)
    {
        if (CmpDer.PeekIsContext(reader, 0))
        {
            AsnReader v3 = reader.ReadSequence(CmpDer.Ctx(0));
            AsnReader seq = v3.ReadSequence();
            v3.ThrowIfNotEmpty();
            ReadOnlyMemory<byte> newWithNew = CmpDer.ReadRawSequence(seq, "newWithNew");
            ReadOnlyMemory<byte>? newWithOld = CmpDer.PeekIsContext(seq, 0) ? CmpDer.ReadExplicitValue(seq, 0) : (ReadOnlyMemory<byte>?)null;
            ReadOnlyMemory<byte>? oldWithNew = CmpDer.PeekIsContext(seq, 1) ? CmpDer.ReadExplicitValue(seq, 1) : (ReadOnlyMemory<byte>?)null;
            seq.ThrowIfNotEmpty();
            return new CkuAnnBody { IsV3 = true, NewWithNew = newWithNew, NewWithOld = newWithOld, OldWithNew = oldWithNew };
        }

        AsnReader v2 = reader.ReadSequence();
        ReadOnlyMemory<byte> old = CmpDer.ReadRawSequence(v2, "oldWithNew");
        ReadOnlyMemory<byte> newOld = CmpDer.ReadRawSequence(v2, "newWithOld");
        ReadOnlyMemory<byte> newNew = CmpDer.ReadRawSequence(v2, "newWithNew");
        v2.ThrowIfNotEmpty();
        return new CkuAnnBody { IsV3 = false, OldWithNew = old, NewWithOld = newOld, NewWithNew = newNew };
    }

    private protected override void WriteContent(AsnWriter writer)
    {
        if (!IsV3)
        {
            if (OldWithNew is not { } old || NewWithOld is not { } newOld)
            {
                throw new InvalidOperationException("cAKeyUpdAnnV2 needs oldWithNew, newWithOld and newWithNew");
            }

            writer.PushSequence();
            writer.WriteEncodedValue(old.Span);
            writer.WriteEncodedValue(newOld.Span);
            writer.WriteEncodedValue(NewWithNew.Span);
            writer.PopSequence();
            return;
        }

        writer.PushSequence(CmpDer.CtxC(0));
        writer.PushSequence();
        writer.WriteEncodedValue(NewWithNew.Span);
        if (NewWithOld is { } newWithOld)
        {
            CmpDer.WriteExplicitValue(writer, 0, newWithOld);
        }

        if (OldWithNew is { } oldWithNew)
        {
            CmpDer.WriteExplicitValue(writer, 1, oldWithNew);
        }

        writer.PopSequence();
        writer.PopSequence(CmpDer.CtxC(0));
    }
}
