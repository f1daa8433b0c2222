using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Est;

namespace CoapEnroll.Cli.Enrollment;

/// <summary>The operations that make or receive a private key: enroll and reenroll (key made here), serverkeygen (key made by the server).</summary>
internal sealed partial class EstCommand
{
    private async Task<int> EnrollAsync(EstCoapsClient client, byte[]? csrDer, X500DistinguishedName? subject, EstCertificateFormat format, string? outFile,
        string? keyOut, string? csrOut, TextWriter stdout, CancellationToken cancellationToken)
    {
        using ECDsa? key = csrDer is null ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : null;
        if (key is not null)
        {
            csrDer = client.CreateCsr(subject!, key);

            // Written before the request: a 5.03 must not lose the key, and --csr-out lets the identical request be repeated.
            await WritePrivateKeyAsync(keyOut!, key.ExportPkcs8PrivateKey(), cancellationToken);
            if (csrOut is not null)
            {
                await WriteTextAsync(csrOut, PemEncoding.WriteString("CERTIFICATE REQUEST", csrDer) + "\n", ownerOnly: false, cancellationToken);
            }
        }

        X509Certificate2 issued = _operation == "reenroll"
            ? await client.ReenrollAsync(csrDer, format, cancellationToken)
            : await client.EnrollAsync(csrDer!, format, cancellationToken);
        if (key is not null && !issued.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
        {
            throw new CliException(ExitCodes.Failure, "The issued certificate does not certify the key that was sent.");
        }

        await WriteCertificatesAsync(outFile, [issued], stdout, cancellationToken);
        if (outFile is not null)
        {
            await stdout.WriteLineAsync($"Issued {issued.Subject} (serial {issued.SerialNumber}, until {issued.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC)"
                + (keyOut is null ? string.Empty : $"; key in {keyOut}"));
        }

        return ExitCodes.Success;
    }

    private static async Task<int> ServerKeyGenAsync(EstCoapsClient client, byte[]? csrDer, X500DistinguishedName subject, EstCertificateFormat format,
        KeyProtection? protection, string? outFile, string keyOut, TextWriter stdout, CancellationToken cancellationToken)
    {
        bool single = format == EstCertificateFormat.PkixCert;
        EstServerKeyGenResult result;
        try
        {
            result = (csrDer, protection) switch
            {
                (null, { SymmetricKey: { } kek }) => await client.ServerKeyGenAsync(subject, kek, single, cancellationToken),
                (not null, { SymmetricKey: { } kek }) => await client.ServerKeyGenAsync(csrDer, kek, single, cancellationToken),
                (null, _) => await client.ServerKeyGenAsync(subject, single, protection?.Certificate, cancellationToken),
                (not null, _) => await client.ServerKeyGenAsync(csrDer, single, protection?.Certificate, cancellationToken),
            };
        }
        catch (CryptographicException ex)
        {
            string with = protection?.Certificate is not null ? "--encrypt-key" : "--kek-env";
            throw new CliException(ExitCodes.Failure, $"The encrypted key (280) is unusable: {ex.Message.TrimEnd('.')} (opened with {with}, signer checked against --trust).", ex);
        }

        await WritePrivateKeyAsync(keyOut, result.Pkcs8PrivateKey, cancellationToken);
        await WriteCertificatesAsync(outFile, [result.Certificate], stdout, cancellationToken);
        if (outFile is not null)
        {
            await stdout.WriteLineAsync($"Issued {result.Certificate.Subject} (serial {result.Certificate.SerialNumber}) with a key made by the server"
                + (result.KeyWasEncrypted ? " (delivered encrypted)" : string.Empty) + $"; key in {keyOut}");
        }

        return ExitCodes.Success;
    }
}
