using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>pkiconf: PKIConfirmContent ::= NULL.</summary>
public sealed class PkiConfBody : PkiBody
{
    /// <inheritdoc/>
    public override PkiBodyType BodyType => PkiBodyType.PkiConf;

    internal static PkiConfBody ReadContent(AsnReader reader)
    {
        reader.ReadNull();
        return new PkiConfBody();
    }

    private protected override void WriteContent(AsnWriter writer) => writer.WriteNull();
}
