using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;

namespace CoapEnroll.Enrollment;

/// <summary>
/// Whether the names a request asks for are bound to the certificate that authenticated the requester, under a profile's
/// <see cref="NamePolicy.BoundToRequester"/> rules: the same for a manufacturer certificate (IDevID) and a certificate of this CA;
/// for a shared secret, to what its <see cref="SharedSecretGrant"/> grants.
/// </summary>
internal static class NameBinding
{
    private const string SubjectAltNameOid = "2.5.29.17";

    /// <summary>Null when every name is bound; otherwise what is not, as text for the requester and the store.</summary>
    public static string? Check(CertificateProfile profile, X509Certificate2 client, X500DistinguishedName subject, IReadOnlyList<GeneralName> subjectAltNames)
    {
        IReadOnlyList<NameAttribute> own = DistinguishedNames.TryGetAttributes(client.SubjectName) ?? [];
        if (CheckSubject(profile, own, subject) is { } problem)
        {
            return $"{problem}, and no subject template or allowed subject of profile '{profile.Name}' matches it";
        }

        IReadOnlyList<GeneralName> carried = client.Extensions[SubjectAltNameOid]?.RawData is { } san ? GeneralName.TryDecodeAll(san) ?? [] : [];
        foreach (GeneralName name in subjectAltNames)
        {
            bool bound = carried.Any(n => n.Matches(name))
                || profile.SubjectAltNameTemplates.Any(t => t.Instantiate(own) is { } filled && filled.Matches(name))
                || profile.AllowedSubjectAltNames.Any(n => n.Matches(name));
            if (!bound)
            {
                return $"subjectAltName {PrintableText.Escape(name.ToString())} is not in the client certificate, and no subjectAltName template or allowed "
                    + $"subjectAltName of profile '{profile.Name}' matches it";
            }
        }

        return null;
    }

    // The subject is bound when a template filled from the client certificate or an allowed subject is exactly it, or when it names
    // the requester by CN or serialNumber and every attribute it has is one the client certificate's subject has, value for value.
    private static string? CheckSubject(CertificateProfile profile, IReadOnlyList<NameAttribute> own, X500DistinguishedName subject)
    {
        IReadOnlyList<NameAttribute>? requested = DistinguishedNames.TryGetAttributes(subject);
        if (requested is null)
        {
            return "the subject cannot be decoded";
        }

        if (profile.SubjectTemplates.Any(t => t.Instantiate(own) is { } filled && DistinguishedNames.SameAttributes(filled, requested))
            || profile.AllowedSubjects.Any(t => t.Instantiate([]) is { } allowed && DistinguishedNames.SameAttributes(allowed, requested)))
        {
            return null;
        }

        if (!requested.Any(a => a.Oid is DistinguishedNames.CommonNameOid or DistinguishedNames.SerialNumberOid))
        {
            return "the subject has neither a CN nor a serialNumber to bind it to the client certificate";
        }

        foreach (NameAttribute attribute in requested)
        {
            if (own.Contains(attribute))
            {
                continue;
            }

            string type = DistinguishedNames.ShortName(attribute.Oid);
            string? held = DistinguishedNames.ValuesOf(own, attribute.Oid).FirstOrDefault();
            return held is null
                ? $"{type} '{PrintableText.Escape(attribute.Value)}' is not in the client certificate's subject"
                : $"{type} '{PrintableText.Escape(attribute.Value)}' is not the client certificate's {type} '{PrintableText.Escape(held)}'";
        }

        return null;
    }

    /// <summary>
    /// Null when the names are what the shared secret <paramref name="reference"/> grants: any name under
    /// <see cref="SharedSecretGrant.AnyName"/>; otherwise the granted subject (<see cref="DistinguishedNames.Key"/>: case and white
    /// space insensitive, any order), or without one exactly <c>CN=reference</c> or a profile's subject template filled from it that
    /// keeps that CN, and subjectAltNames only from the profile's subjectAltName templates filled from that name (the secret's, never
    /// attributes the requester added) or its allowed subjectAltNames.
    /// </summary>
    public static string? CheckSharedSecret(CertificateProfile profile, SharedSecretGrant? grant, string reference, X500DistinguishedName subject,
        IReadOnlyList<GeneralName> subjectAltNames)
    {
        if (grant?.AnyName == true)
        {
            return null;
        }

        IReadOnlyList<NameAttribute>? requested = DistinguishedNames.TryGetAttributes(subject);
        if (requested is null)
        {
            return "the subject cannot be decoded";
        }

        if (grant?.Subject is { } granted)
        {
            X500DistinguishedName? grantedName = DistinguishedNameParser.TryParse(granted, out _);
            if (grantedName is null || DistinguishedNames.Key(grantedName) != DistinguishedNames.Key(subject))
            {
                return $"the subject is not the one the shared secret '{PrintableText.Escape(reference)}' is granted";
            }
        }
        else
        {
            string[] cns = [.. DistinguishedNames.ValuesOf(requested, DistinguishedNames.CommonNameOid)];
            if (cns.Length != 1 || cns[0] != reference)
            {
                return $"the subject's CN is not the shared secret's reference '{PrintableText.Escape(reference)}'";
            }

            // Only the CN is the secret's: any other attribute (a serialNumber, an O) would be the requester's word, and templates
            // would be filled from it. More than the CN comes from a profile's subject template filled from the CN alone.
            IReadOnlyList<NameAttribute> own = [new NameAttribute(DistinguishedNames.CommonNameOid, reference)];
            if (requested.Count != 1 && !profile.SubjectTemplates.Any(t => t.Instantiate(own) is { } filled && DistinguishedNames.SameAttributes(filled, requested)))
            {
                return $"the subject has more than CN={PrintableText.Escape(reference)}, the shared secret's reference, and no subject template of "
                    + $"profile '{profile.Name}' filled from that CN is it";
            }
        }

        foreach (GeneralName name in subjectAltNames)
        {
            bool bound = profile.SubjectAltNameTemplates.Any(t => t.Instantiate(requested) is { } filled && filled.Matches(name))
                || profile.AllowedSubjectAltNames.Any(n => n.Matches(name));
            if (!bound)
            {
                return $"subjectAltName {PrintableText.Escape(name.ToString())} is not granted to a shared secret: no subjectAltName template or allowed "
                    + $"subjectAltName of profile '{profile.Name}' matches it";
            }
        }

        return null;
    }
}
