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
                text.Append(' ').Append(Convert.ToHexString(value));
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
