using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using CoapEnroll.Cmp;

namespace CoapEnroll.Cli.Enrollment;

/// <summary>
/// The state file of a deferred certConf (<c>cmp ir … --defer-confirm FILE</c>, read by <c>cmp certconf --state FILE</c>): JSON
/// with the transactionID and the server's last senderNonce in hex, the certReqId, the request's sender (DER, base64), the
/// server's confirmWaitTime (ISO 8601, when given) and the issued certificate (PEM). No secret: certconf is protected again
/// with --ref/--secret-env or --cert/--key.
/// </summary>
internal static class CmpConfirmationFile
{
    private const string Format = "coapenroll-cmp-certconf/1";

    public static async Task WriteAsync(string path, CmpPendingConfirmation pending, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("format", Format);
            json.WriteString("transactionId", Convert.ToHexString(pending.TransactionId.Span));
            json.WriteString("recipNonce", Convert.ToHexString(pending.RecipNonce.Span));
            json.WriteNumber("certReqId", pending.CertReqId);
            json.WriteString("sender", Convert.ToBase64String(pending.Sender.RawData));
            if (pending.ConfirmWaitTime is { } until)
            {
                json.WriteString("confirmWaitTime", until.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            }

            json.WriteString("certificate", pending.Certificate.ExportCertificatePem());
            json.WriteEndObject();
        }

        await File.WriteAllBytesAsync(path, buffer.ToArray(), cancellationToken);
    }

    /// <summary>The pending confirmation in <paramref name="path"/>; a missing or malformed file is a usage error naming it.</summary>
    public static async Task<CmpPendingConfirmation> ReadAsync(string path, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(path, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Usage, $"--state '{path}': {ex.Message}", ex);
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(bytes);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out JsonElement format) || format.GetString() != Format)
            {
                throw Bad(path, $"not a certconf state file (format {Format})");
            }

            return new CmpPendingConfirmation
            {
                TransactionId = Convert.FromHexString(Text(root, "transactionId", path)),
                RecipNonce = Convert.FromHexString(Text(root, "recipNonce", path)),
                CertReqId = root.TryGetProperty("certReqId", out JsonElement id) && id.TryGetInt64(out long certReqId) ? certReqId : throw Bad(path, "certReqId is missing"),
                Sender = new X500DistinguishedName(Convert.FromBase64String(Text(root, "sender", path))),
                ConfirmWaitTime = root.TryGetProperty("confirmWaitTime", out JsonElement until) ? until.GetDateTimeOffset() : null,
                Certificate = X509Certificate2.CreateFromPem(Text(root, "certificate", path)),
            };
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or CryptographicException)
        {
            throw Bad(path, ex.Message);
        }
    }

    private static string Text(JsonElement root, string name, string path) =>
        root.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : throw Bad(path, $"{name} is missing");

    private static CliException Bad(string path, string why) => new(ExitCodes.Usage, $"--state '{path}': {why.TrimEnd('.')}.");
}
