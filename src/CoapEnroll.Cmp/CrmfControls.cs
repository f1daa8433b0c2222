using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Cmp;

/// <summary>The CRMF controls (RFC 4211 §6) the profile uses: regCtrl oldCertID (§6.5), naming the certificate a kur updates.</summary>
public static class CrmfControls
{
    /// <summary>id-regCtrl-oldCertID.</summary>
    public const string OldCertIdOid = "1.3.6.1.5.5.7.5.1.5";

    /// <summary>controls with oldCertID = CertId { issuer directoryName, serialNumber } (<paramref name="serialNumber"/>: the INTEGER's content octets, as a certificate carries them).</summary>
    public static byte[] EncodeOldCertId(X500DistinguishedName issuer, ReadOnlySpan<byte> serialNumber)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(OldCertIdOid);
            using (writer.PushSequence())
            {
                // GeneralName directoryName [4]: Name is a CHOICE, so the tag is explicit.
                using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 4, isConstructed: true)))
                {
                    writer.WriteEncodedValue(issuer.RawData);
                }

                writer.WriteInteger(serialNumber);
            }
        }

        return writer.Encode();
    }

    /// <summary>
    /// The oldCertID in <paramref name="controls"/> (a controls SEQUENCE's DER): true with its issuer Name (DER) and serialNumber
    /// (the INTEGER's content octets) when present; false when absent. Malformed DER throws <see cref="AsnContentException"/>.
    /// </summary>
    public static bool TryReadOldCertId(ReadOnlyMemory<byte>? controls, out byte[] issuer, out byte[] serialNumber)
    {
        issuer = [];
        serialNumber = [];
        if (controls is not { } der)
        {
            return false;
        }

        AsnReader list = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        while (list.HasData)
        {
            AsnReader control = list.ReadSequence();
            if (control.ReadObjectIdentifier() != OldCertIdOid)
            {
                continue;
            }

            AsnReader certId = control.ReadSequence();
            AsnReader name = certId.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 4, isConstructed: true));
            issuer = name.ReadEncodedValue().ToArray();
            name.ThrowIfNotEmpty();
            serialNumber = certId.ReadIntegerBytes().ToArray();
            certId.ThrowIfNotEmpty();
            control.ThrowIfNotEmpty();
            return true;
        }

        return false;
    }
}
