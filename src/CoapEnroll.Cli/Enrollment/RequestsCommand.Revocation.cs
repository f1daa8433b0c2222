using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Serve;
using CoapEnroll.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Cli.Enrollment;

/// <summary>
/// <c>coapenroll requests revoke SERIAL [--reason NAME|N] [--data DIR]</c> and <c>coapenroll requests crl [--out FILE] [--data DIR]</c>:
/// the operator revokes a certificate (RFC 5280 CRLReason) in DIR/coapenroll.db, and writes the CA's current CRL. A running
/// <c>serve</c> notices the revocation at once: a revoked certificate no longer authenticates, and its next CRL lists it.
/// </summary>
internal static partial class RequestsCommand
{
    private static Command BuildRevoke()
    {
        var data = DataOption();
        var serial = new Argument<string>("SERIAL") { Description = "The certificate's serial number in hex (as 'openssl x509 -serial' prints it; colons allowed)" };
        var reason = new Option<string?>("--reason")
        {
            Description = "RFC 5280 CRLReason: unspecified (default), keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, "
                + "certificateHold, privilegeWithdrawn, aACompromise, or its number",
            HelpName = "REASON",
        };
        var command = new Command("revoke", "Revoke a certificate this CA issued: it no longer authenticates its device and the CA's CRLs list it.") { data, serial, reason };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            ConfigurationArguments.ThrowOnUnrecognized(parseResult.UnmatchedTokens, "requests revoke");
            string text = parseResult.GetValue(serial) ?? "";
            string hex = text.Replace(":", "", StringComparison.Ordinal).Trim();
            if (hex.Length is 0 or > IssuanceRequest.MaxSerialNumberHexLength || !hex.All(char.IsAsciiHexDigit))
            {
                throw new CliException(ExitCodes.Usage, $"SERIAL '{RequestsCommand.Cell(text)}' is not a serial number: 1..{IssuanceRequest.MaxSerialNumberHexLength} hex digits.");
            }

            int code = RevocationReasons.Unspecified;
            if (parseResult.GetValue(reason) is { } reasonText && !RevocationReasons.TryParse(reasonText, out code))
            {
                throw new CliException(ExitCodes.Usage, $"--reason '{RequestsCommand.Cell(reasonText)}': {RevocationReasons.ValidText}, by name (e.g. keyCompromise) or number.");
            }

            TextWriter stdout = parseResult.InvocationConfiguration.Output;
            return await WithAuthorityAsync(parseResult, data, async (authority, layout) =>
            {
                RevocationResult result = await authority.RevokeAsync(hex, code, $"operator:{Environment.UserName}", cancellationToken);
                StoredCertificate? certificate = result.Certificate;
                switch (result.Status)
                {
                    case RevocationStatus.Revoked:
                        await stdout.WriteLineAsync($"Revoked certificate {certificate!.SerialNumber} ({RequestsCommand.Cell(certificate.Subject)}) for {RevocationReasons.NameOf(code)}. "
                            + $"It no longer authenticates its device; the next CRL lists it: {HowToInvoke.Command("requests", "crl", "--data", layout.DataDirectory)}");
                        return ExitCodes.Success;
                    case RevocationStatus.AlreadyRevoked:
                        string when = certificate?.RevokedAt is { } at ? at.UtcDateTime.ToString(" on yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) : "";
                        string why = certificate?.RevocationReason is { } first ? $" for {RevocationReasons.NameOf(first)}" : "";
                        throw new CliException(ExitCodes.Failure, $"Certificate {hex.ToUpperInvariant()} is already revoked{when}{why}; nothing changed.");
                    default:
                        throw new CliException(ExitCodes.Usage, $"No certificate with serial {hex.ToUpperInvariant()} in the certificate store.");
                }
            }, cancellationToken);
        });
        return command;
    }

    private static Command BuildCrl()
    {
        var data = DataOption();
        var output = new Option<string?>("--out") { Description = "Write the CRL to FILE: DER when it ends in .der or .crl, PEM otherwise (default: PEM on stdout)", HelpName = "FILE" };
        var command = new Command("crl", "Write the CA's current CRL (X.509 v2, signed by the issuing CA, with every revoked certificate and its reason).") { data, output };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            ConfigurationArguments.ThrowOnUnrecognized(parseResult.UnmatchedTokens, "requests crl");
            TextWriter stdout = parseResult.InvocationConfiguration.Output;
            string? file = parseResult.GetValue(output);
            return await WithAuthorityAsync(parseResult, data, async (authority, layout) =>
            {
                CrlSnapshot crl = await authority.GetCrlAsync(cancellationToken);
                string pem = PemEncoding.WriteString("X509 CRL", crl.Der.Span) + "\n";
                if (file is null)
                {
                    await stdout.WriteAsync(pem);
                    return ExitCodes.Success;
                }

                bool der = file.EndsWith(".der", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".crl", StringComparison.OrdinalIgnoreCase);
                try
                {
                    if (der)
                    {
                        await File.WriteAllBytesAsync(file, crl.Der.ToArray(), cancellationToken);
                    }
                    else
                    {
                        await File.WriteAllTextAsync(file, pem, cancellationToken);
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new CliException(ExitCodes.Usage, $"--out: cannot write '{file}': {ex.Message}", ex);
                }

                await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"Wrote CRL {crl.CrlNumber} ({crl.Count} revoked, next update {crl.NextUpdate.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC) to {file} ({(der ? "DER" : "PEM")})."));
                return ExitCodes.Success;
            }, cancellationToken);
        });
        return command;
    }

    internal static Option<string?> DataOption() => new("--data") { Description = "Data directory of the server (default: ./data; config key DataDirectory)", HelpName = "DIR" };

    // The host as 'requests approve' builds it (same configuration, no CoAP server, logging off), with an existing store and the CA loaded.
    internal static Task<int> WithAuthorityAsync(ParseResult parseResult, Option<string?> data, Func<CertificateAuthority, CaDataLayout, Task<int>> action,
        CancellationToken cancellationToken) =>
        WithStoreAsync(parseResult, data, async (certification, _) =>
        {
            CertificateAuthority authority = await LoadAuthorityAsync(certification, cancellationToken);
            return await action(authority, certification.Layout);
        }, cancellationToken);

    // The host as 'requests' builds it (same configuration, no CoAP server, logging off), with an existing store opened.
    internal static async Task<int> WithStoreAsync(ParseResult parseResult, Option<string?> data, Func<CertificationServices, ICertificateAuthorityStore, Task<int>> action,
        CancellationToken cancellationToken)
    {
        using IHost host = ServeHost.BuildOffline(parseResult.GetValue(data), parseResult.UnmatchedTokens);
        await using CertificationServices certification = host.Services.GetRequiredService<CertificationServices>();
        CaDataLayout layout = certification.Layout;
        if (certification.StoreIsDatabaseFile && !File.Exists(layout.Database))
        {
            throw new CliException(ExitCodes.Usage,
                $"No certificate store in '{certification.DataDirectory}' (expected {layout.Database}); start the server there first: {HowToInvoke.Command("serve", "--data", certification.DataDirectory)}");
        }

        ICertificateAuthorityStore store = await OpenStoreAsync(certification, layout, cancellationToken);
        return await action(certification, store);
    }
}
