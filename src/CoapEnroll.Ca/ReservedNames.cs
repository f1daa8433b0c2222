using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>
/// The names this CA never issues, whatever the profile: the subject DNs of its CA certificates (trust anchor, issuing CA,
/// intermediates) and of the trusted manufacturer CAs, and the subject DN of each of the host's own certificates (its (D)TLS server
/// certificate) with every name it carries (its subjectAltNames and its CN), as a subjectAltName or as a CN. A certificate with
/// the server's name would let its holder pose as the server to a client that checks the name; one with a CA's name confuses path
/// building and audit (RFC 5280 section 4.1.2.6: a DN names one entity). The server credential is the host's, not the CA's, so
/// the host says which certificates are its own.
/// </summary>
public sealed class ReservedNames
{
    private readonly List<(string Key, string Description)> _subjects = [];
    private readonly List<GeneralName> _serverNames = [];

    /// <param name="hierarchy">The CA certificates.</param>
    /// <param name="hostCertificates">The certificates the host presents as itself: its (D)TLS server certificate (and an HTTPS one).</param>
    public ReservedNames(CaHierarchy hierarchy, IEnumerable<X509Certificate2> hostCertificates)
    {
        ArgumentNullException.ThrowIfNull(hierarchy);
        ArgumentNullException.ThrowIfNull(hostCertificates);
        Reserve(hierarchy.TrustAnchor, "the root CA's name");
        Reserve(hierarchy.IssuingCa, "the issuing CA's name");
        foreach (X509Certificate2 intermediate in hierarchy.Intermediates)
        {
            Reserve(intermediate, "an intermediate CA's name");
        }

        foreach (X509Certificate2 manufacturer in hierarchy.TrustedManufacturerCas)
        {
            Reserve(manufacturer, "a trusted manufacturer CA's name");
        }

        foreach (X509Certificate2 server in hostCertificates)
        {
            Reserve(server, "this server's name");
            if (server.Extensions["2.5.29.17"]?.RawData is { } san && GeneralName.TryDecodeAll(san) is { } names)
            {
                _serverNames.AddRange(names.Select(Compared));
            }

            foreach (string cn in DistinguishedNames.ValuesOf(DistinguishedNames.TryGetAttributes(server.SubjectName) ?? [], DistinguishedNames.CommonNameOid))
            {
                _serverNames.Add(AsHostName(cn));
            }
        }
    }

    /// <summary>
    /// Why <paramref name="subject"/> or one of <paramref name="subjectAltNames"/> is reserved, as a refusal's text naming the rule
    /// ("reserved name: the subject is the issuing CA's name, which this CA never issues"), or null when none is.
    /// </summary>
    public string? Find(X500DistinguishedName subject, IReadOnlyList<GeneralName> subjectAltNames) =>
        FindReserved(subject, subjectAltNames) is { } what ? $"reserved name: {what}, which this CA never issues" : null;

    private string? FindReserved(X500DistinguishedName subject, IReadOnlyList<GeneralName> subjectAltNames)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(subjectAltNames);
        string key = DistinguishedNames.Key(subject);
        foreach ((string reserved, string description) in _subjects)
        {
            if (reserved == key)
            {
                return $"the subject is {description}";
            }
        }

        // A CN is still read as a host name by verifiers that fall back to it (RFC 6125 section 6.4.4).
        foreach (string cn in DistinguishedNames.ValuesOf(DistinguishedNames.TryGetAttributes(subject) ?? [], DistinguishedNames.CommonNameOid))
        {
            GeneralName asName = AsHostName(cn);
            if (_serverNames.Exists(n => n.Matches(asName)))
            {
                return $"CN '{PrintableText.Escape(cn)}' is a name of this server's certificate";
            }
        }

        foreach (GeneralName name in subjectAltNames)
        {
            GeneralName compared = Compared(name);
            if (_serverNames.Exists(n => n.Matches(compared)))
            {
                return $"subjectAltName {PrintableText.Escape(name.ToString())} is a name of this server's certificate";
            }
        }

        return null;
    }

    private void Reserve(X509Certificate2 certificate, string description) => _subjects.Add((DistinguishedNames.Key(certificate.SubjectName), description));

    // A subjectAltName of the server's or of a request, as a client compares it: a DNS name or an address as a host name.
    private static GeneralName Compared(GeneralName name) => name.Kind is GeneralNameKind.Dns or GeneralNameKind.IPAddress ? AsHostName(name.Value) : name;

    // Host names as a client compares them: an address written as text is that address (an IPv4-mapped IPv6 address, ::ffff:a.b.c.d,
    // the IPv4 address it maps: a dual-stack socket reports IPv4 peers so), a DNS name is compared without case and without a final
    // dot, white space around it ignored.
    private static GeneralName AsHostName(string text)
    {
        string trimmed = text.Trim().TrimEnd('.');
        if (IPAddress.TryParse(trimmed, out IPAddress? address) && trimmed.Contains(address.AddressFamily == AddressFamily.InterNetwork ? '.' : ':'))
        {
            return new GeneralName(GeneralNameKind.IPAddress, (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString());
        }

        return new GeneralName(GeneralNameKind.Dns, trimmed);
    }
}
