using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Est;

namespace CoapEnroll.Cli.Enrollment;

/// <summary>What the command writes: certificates as PEM, CSR attributes, private keys (owner-only), to a file or stdout.</summary>
internal sealed partial class EstCommand
{
    private static async Task WriteCertificatesAsync(string? outFile, IEnumerable<X509Certificate2> certificates, TextWriter stdout, CancellationToken cancellationToken)
    {
        var pem = new StringBuilder();
        int count = 0;
        foreach (X509Certificate2 certificate in certificates)
        {
            pem.Append(certificate.ExportCertificatePem()).Append('\n');
            count++;
        }

        if (outFile is null)
        {
            await stdout.WriteAsync(pem.ToString());
            return;
        }

        await WriteTextAsync(outFile, pem.ToString(), ownerOnly: false, cancellationToken);
        await stdout.WriteLineAsync($"Wrote {count} certificate{(count == 1 ? string.Empty : "s")} to {outFile}");
    }

    private static async Task PrintAttributesAsync(IReadOnlyList<EstCsrAttribute> attributes, string? outFile, TextWriter stdout, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        foreach (EstCsrAttribute attribute in attributes)
        {
            string name = new Oid(attribute.Oid).FriendlyName is { Length: > 0 } friendly ? $" ({friendly})" : string.Empty;
            text.Append(attribute.IsOid ? "oid " : "attribute ").Append(attribute.Oid).Append(name);
            foreach (byte[] value in attribute.Values ?? [])
            {
                text.Append(' ').Append(DescribeValue(value));
            }

            text.Append('\n');
        }

        if (outFile is null)
        {
            await stdout.WriteAsync(text.ToString());
        }
        else
        {
            await WriteTextAsync(outFile, text.ToString(), ownerOnly: false, cancellationToken);
        }
    }

    /// <summary>
    /// An attribute value as a reader wants it: a named curve or other OID by name (id-ecPublicKey's value is the curve, RFC 8951
    /// §4), anything else as hex.
    /// </summary>
    internal static string DescribeValue(byte[] value)
    {
        string oid;
        try
        {
            var reader = new AsnReader(value, AsnEncodingRules.DER);
            oid = reader.ReadObjectIdentifier();
            reader.ThrowIfNotEmpty();
        }
        catch (AsnContentException)
        {
            return Convert.ToHexString(value);
        }

        // The platform's friendly names differ between operating systems and crypto libraries: the curves are named here.
        return oid switch
        {
            "1.2.840.10045.3.1.7" => "secp256r1 (P-256)",
            "1.3.132.0.34" => "secp384r1 (P-384)",
            "1.3.132.0.35" => "secp521r1 (P-521)",
            "1.3.101.110" => "X25519",
            "1.3.101.112" => "Ed25519",
            _ => new Oid(oid).FriendlyName is { Length: > 0 } friendly ? $"{oid} ({friendly})" : oid,
        };
    }

    internal static Task WritePrivateKeyAsync(string path, byte[] pkcs8, CancellationToken cancellationToken) =>
        WriteTextAsync(path, PemEncoding.WriteString("PRIVATE KEY", pkcs8) + "\n", ownerOnly: true, cancellationToken);

    internal static async Task WriteTextAsync(string path, string text, bool ownerOnly, CancellationToken cancellationToken)
    {
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (ownerOnly && !OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            await using var stream = new FileStream(path, options);
            await stream.WriteAsync(Encoding.ASCII.GetBytes(text), cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Usage, $"Cannot write '{path}': {ex.Message}", ex);
        }
    }
}
