using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;

namespace CoapEnroll.Cmp;

public sealed partial class CmpServer
{
    /// <summary>
    /// The recipient check (RFC 9810 §5.1.1, RFC 9483 §3.1: the name of the CA/RA the message is for, or the NULL-DN when the sender
    /// does not know it). Accepted: the NULL-DN; the subject of any CA certificate of this hierarchy (issuing, intermediates, root)
    /// or of the certificate this server signs CMP answers with; and, for a signed request, the issuer of its protection
    /// certificate, which is what <c>openssl cmp</c> puts there without <c>-recipient</c>/<c>-srvcert</c> (the issuer of
    /// <c>-oldcert</c>, else of <c>-cert</c>; for an ir signed with a manufacturer certificate that is the manufacturer CA, which
    /// the enrollment core has just trusted). Anything else names another authority: wrongAuthority (RFC 9810 §5.2.3, "the
    /// authority indicated in the request is different from the one creating the response token") rather than badRequest, which
    /// would say the operation itself is not offered. Runs after authentication so the refusal is protected like every answer.
    /// </summary>
    private PkiMessage? CheckRecipient(CmpExchange exchange)
    {
        CmpGeneralName recipient = exchange.Request.Header.Recipient;
        if (recipient.IsNullDirectoryName)
        {
            return null;
        }

        X500DistinguishedName? name;
        try
        {
            name = recipient.DirectoryName;
        }
        catch (CryptographicException)
        {
            name = null;
        }

        if (name is null)
        {
            return ErrorAnswer(exchange, PkiFailureInfo.WrongAuthority,
                "the recipient must be this CA's name as a directoryName, or the NULL-DN when unknown");
        }

        string key = DistinguishedNames.Key(name);
        IEnumerable<X500DistinguishedName> accepted = _enrollment.Hierarchy.CaCertificates.Select(c => c.SubjectName).Append(_credential.Certificate.SubjectName).Append(_protection.Certificate.SubjectName);
        if (exchange.Requester?.Certificate is { } protection)
        {
            accepted = accepted.Append(protection.IssuerName);
        }

        if (accepted.Any(n => DistinguishedNames.Key(n) == key))
        {
            return null;
        }

        string shown;
        try
        {
            shown = PrintableText.Escape(name.Name);
        }
        catch (CryptographicException)
        {
            shown = "(undecodable name)";
        }

        return ErrorAnswer(exchange, PkiFailureInfo.WrongAuthority,
            $"the recipient '{shown}' is not this CA; address '{_enrollment.Hierarchy.IssuingCa.Subject}' or use the NULL-DN");
    }
}
