using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

public sealed partial class CmpServer
{
    /// <summary>
    /// genm (RFC 9483 §4.3): CA certificates, root CA update (none is pending: an absent value), certificate request template
    /// (none: an absent value), CRLs. Several infoTypes in one genm are answered together; one this server does not know is refused.
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
                    answers.Add(new InfoTypeAndValue { InfoType = CmpInfoTypes.RootCaKeyUpdate });
                    break;
                case CmpInfoTypes.CertReqTemplate:
                    answers.Add(new InfoTypeAndValue { InfoType = CmpInfoTypes.CertReqTemplate });
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
