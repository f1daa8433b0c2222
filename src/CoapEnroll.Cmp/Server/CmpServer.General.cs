using System.Formats.Asn1;
using CoapEnroll.Ca;

namespace CoapEnroll.Cmp;

public sealed partial class CmpServer
{
    /// <summary>
    /// genm (RFC 9483 §4.3): CA certificates, root CA update (<see cref="RootCaKeyUpdateValue"/>), certificate request template
    /// (the profile's key types), CRLs. Several infoTypes in one genm are answered together; one this server does not know is refused.
    /// </summary>
    private async Task<PkiMessage> GeneralAsync(CmpExchange exchange, GenMsgBody body, CancellationToken cancellationToken)
    {
        var answers = new List<InfoTypeAndValue>(body.Items.Count);
        foreach (InfoTypeAndValue item in body.Items)
        {
            switch (item.InfoType)
            {
                case CmpInfoTypes.CaCerts:
                    answers.Add(new InfoTypeAndValue { InfoType = CmpInfoTypes.CaCerts, Value = SequenceOf(_enrollment.Authority.CaCertificates.Select(c => (ReadOnlyMemory<byte>)c.RawData)) });
                    break;
                case CmpInfoTypes.RootCaCert:
                    answers.Add(new InfoTypeAndValue { InfoType = CmpInfoTypes.RootCaKeyUpdate, Value = RootCaKeyUpdateValue(item.Value) });
                    break;
                case CmpInfoTypes.CertReqTemplate:
                    if (!_enrollment.Authority.Profiles.TryGet(exchange.Context.ProfileLabel, out CertificateProfile profile))
                    {
                        return ErrorAnswer(exchange, PkiFailureInfo.BadRequest, $"no profile '{exchange.Context.ProfileLabel}'");
                    }

                    answers.Add(new InfoTypeAndValue { InfoType = CmpInfoTypes.CertReqTemplate, Value = CertificateRequestTemplate(profile) });
                    break;
                case CmpInfoTypes.CrlStatusList:
                    var crl = await _enrollment.Authority.GetCrlAsync(cancellationToken);
                    answers.Add(new InfoTypeAndValue { InfoType = CmpInfoTypes.Crls, Value = SequenceOf([crl.Der]) });
                    break;
                default:
                    return ErrorAnswer(exchange, PkiFailureInfo.BadRequest,
                        $"infoType {item.InfoType} is not offered (caCerts, rootCaCert, certReqTemplate and crlStatusList are)");
            }
        }

        return Answer(exchange, new GenMsgBody(PkiBodyType.Genp) { Items = answers });
    }

    /// <summary>
    /// The answer to id-it-rootCaCert (RFC 9483 §4.3.2, RFC 9810 §5.3.19.15): RootCaKeyUpdateContent {newWithNew, [0] newWithOld,
    /// [1] oldWithNew} when the CA has a root CA key update and the client's root (RootCaCertValue, when it names one) is the root
    /// the update replaces; absent (no update) otherwise, also for a RootCaCertValue that is no certificate of this CA.
    /// </summary>
    private ReadOnlyMemory<byte>? RootCaKeyUpdateValue(ReadOnlyMemory<byte>? rootCaCertValue)
    {
        if (_enrollment.Authority.RootCaKeyUpdate is not { } update)
        {
            return null;
        }

        if (rootCaCertValue is { } old && !old.Span.SequenceEqual(update.OldWithOld.RawData))
        {
            return null;
        }

        return RootCaKeyUpdateContent(update.NewWithNew.RawData, update.NewWithOld.RawData, update.OldWithNew.RawData);
    }

    /// <summary>RootCaKeyUpdateContent (RFC 9810 §5.3.19.15; the module's tags are EXPLICIT).</summary>
    internal static byte[] RootCaKeyUpdateContent(ReadOnlyMemory<byte> newWithNew, ReadOnlyMemory<byte> newWithOld, ReadOnlyMemory<byte> oldWithNew)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.PushSequence();
        writer.WriteEncodedValue(newWithNew.Span);
        CmpDer.WriteExplicitValue(writer, 0, newWithOld);
        CmpDer.WriteExplicitValue(writer, 1, oldWithNew);
        writer.PopSequence();
        return writer.Encode();
    }

    /// <summary>
    /// CertReqTemplateContent (RFC 9483 §4.3.3): an empty certTemplate (the profile decides names and extensions) and keySpec
    /// with the key types the profile accepts: id-regCtrl-algId per type, id-regCtrl-rsaKeyLen for RSA.
    /// </summary>
    private static byte[] CertificateRequestTemplate(CertificateProfile profile)
    {
        const string AlgIdControl = "1.3.6.1.5.5.7.5.1.11";
        const string RsaKeyLenControl = "1.3.6.1.5.5.7.5.1.12";
        var writer = new AsnWriter(AsnEncodingRules.DER);

        // keySpec is SIZE (1..MAX): absent when the profile names no key type.
        if ((profile.AcceptedKeyTypes & KeyTypes.All) == 0)
        {
            using (writer.PushSequence())
            {
                writer.PushSequence();
                writer.PopSequence();
            }

            return writer.Encode();
        }

        using (writer.PushSequence())
        {
            writer.PushSequence();
            writer.PopSequence();

            using (writer.PushSequence())
            {
                foreach ((KeyTypes type, string curve) in (ReadOnlySpan<(KeyTypes, string)>)[(KeyTypes.EcP256, "1.2.840.10045.3.1.7"), (KeyTypes.EcP384, "1.3.132.0.34")])
                {
                    if ((profile.AcceptedKeyTypes & type) != 0)
                    {
                        using (writer.PushSequence())
                        {
                            writer.WriteObjectIdentifier(AlgIdControl);
                            using (writer.PushSequence())
                            {
                                writer.WriteObjectIdentifier("1.2.840.10045.2.1");
                                writer.WriteObjectIdentifier(curve);
                            }
                        }
                    }
                }

                if ((profile.AcceptedKeyTypes & KeyTypes.Rsa) != 0)
                {
                    using (writer.PushSequence())
                    {
                        writer.WriteObjectIdentifier(AlgIdControl);
                        using (writer.PushSequence())
                        {
                            writer.WriteObjectIdentifier("1.2.840.113549.1.1.1");
                            writer.WriteNull();
                        }
                    }

                    using (writer.PushSequence())
                    {
                        writer.WriteObjectIdentifier(RsaKeyLenControl);
                        writer.WriteInteger(profile.MinimumRsaKeySize);
                    }
                }
            }
        }

        return writer.Encode();
    }

    private static byte[] SequenceOf(IEnumerable<ReadOnlyMemory<byte>> elements)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.PushSequence();
        foreach (ReadOnlyMemory<byte> element in elements)
        {
            writer.WriteEncodedValue(element.Span);
        }

        writer.PopSequence();
        return writer.Encode();
    }
}
