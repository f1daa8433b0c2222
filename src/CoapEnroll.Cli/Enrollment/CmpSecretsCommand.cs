using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CoapEnroll.Ca;
using CoapEnroll.Hosting;

namespace CoapEnroll.Cli.Enrollment;

/// <summary>
/// <c>coapenroll cmp secrets add REF [--secret-file FILE|-] [--profile P] [--subject DN|--any-name] [--one-time] [--expires WHEN]</c>,
/// <c>list</c> and <c>remove REF</c>: the MAC references (CMP senderKID) and shared secrets of the store, which a running
/// <c>serve</c> looks up after the configured <c>Cmp:SharedSecrets</c>. A generated secret is printed once, on stdout; a secret is
/// never written to the audit log, the logs or by <c>list</c>.
/// </summary>
internal static class CmpSecretsCommand
{
    private const int ListLimit = 1000;
    private const int GeneratedSecretBytes = 16;
    private const int MaxSecretFileBytes = 4096;

    public static Command Create()
    {
        var secrets = new Command("secrets", "Shared secrets (MAC references) kept in the server's store: device onboarding codes, one-time or reusable, with an expiry.");
        secrets.Subcommands.Add(BuildAdd());
        secrets.Subcommands.Add(BuildList());
        secrets.Subcommands.Add(BuildRemove());
        return secrets;
    }

    private static Option<string?> DataOption() => new("--data") { Description = "Data directory of the server (default: ./data; config key DataDirectory)", HelpName = "DIR" };

    private static Command BuildAdd()
    {
        var data = DataOption();
        var reference = new Argument<string>("REF") { Description = "The reference the device sends as senderKID (openssl cmp -ref REF), 1..128 characters" };
        var secretFile = new Option<string?>("--secret-file")
        {
            Description = "Read the secret (text, trailing line break dropped) from FILE, or '-' for stdin; without it a random secret is generated and printed once",
            HelpName = "FILE",
        };
        var profile = new Option<string?>("--profile") { Description = "The only CA profile it may enroll under (default: any)", HelpName = "LABEL" };
        var subject = new Option<string?>("--subject") { Description = "The only subject it may ask for, RFC 4514 form (default: CN=REF alone, or a profile subject template filled from it)", HelpName = "DN" };
        var anyName = new Option<bool>("--any-name") { Description = "Any name the profile allows (reserved names and names held by others are still refused)" };
        var oneTime = new Option<bool>("--one-time") { Description = "Spent by the first enrollment that obtains a certificate with it (an onboarding code)" };
        var expires = new Option<string?>("--expires")
        {
            Description = "Starts no new transaction after this: a duration from now (30m, 12h, 7d) or a UTC time (2026-12-31T23:59:59Z)",
            HelpName = "WHEN",
        };
        var command = new Command("add", "Add a shared secret; a generated one is printed once.") { data, reference, secretFile, profile, subject, anyName, oneTime, expires };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            ConfigurationArguments.ThrowOnUnrecognized(parseResult.UnmatchedTokens, "cmp secrets add");
            string name = parseResult.GetValue(reference) ?? "";
            if (name.Length is 0 or > StoredSharedSecret.MaxReferenceLength)
            {
                throw new CliException(ExitCodes.Usage, $"REF must be 1..{StoredSharedSecret.MaxReferenceLength} characters.");
            }

            string? subjectText = parseResult.GetValue(subject);
            bool any = parseResult.GetValue(anyName);
            if (subjectText is not null && any)
            {
                throw new CliException(ExitCodes.Usage, "--subject and --any-name exclude each other: one subject, or any name.");
            }

            if (subjectText is not null && DistinguishedNameParser.TryParse(subjectText, out string? dnError) is null)
            {
                throw new CliException(ExitCodes.Usage, $"--subject '{RequestsCommand.Cell(subjectText)}': {dnError}");
            }

            DateTimeOffset? expiresAt = parseResult.GetValue(expires) is { } when ? ParseExpiry(when) : null;
            string? file = parseResult.GetValue(secretFile);
            byte[] secret;
            string? generated = null;
            if (file is null)
            {
                generated = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(GeneratedSecretBytes));
                secret = Encoding.UTF8.GetBytes(generated);
            }
            else
            {
                secret = await ReadSecretAsync(file, cancellationToken);
            }

            TextWriter stdout = parseResult.InvocationConfiguration.Output;
            string? profileLabel = parseResult.GetValue(profile);
            return await RequestsCommand.WithStoreAsync(parseResult, data, async (certification, store) =>
            {
                if (profileLabel is not null)
                {
                    CertificateAuthority authority;
                    try
                    {
                        authority = await certification.GetAuthorityAsync(cancellationToken);
                    }
                    catch (CaConfigurationException ex)
                    {
                        throw new CliException(ExitCodes.Failure, $"Cannot load the CA to check --profile: {ex.Message}", ex);
                    }

                    if (!authority.Profiles.TryGet(profileLabel, out _))
                    {
                        throw new CliException(ExitCodes.Usage, $"--profile '{RequestsCommand.Cell(profileLabel)}' is not a profile of this CA (Ca:Profiles).");
                    }
                }

                var entry = new StoredSharedSecret
                {
                    Reference = name,
                    Secret = secret,
                    Profile = profileLabel,
                    Subject = subjectText,
                    AnyName = any,
                    ExpiresAt = expiresAt,
                    OneTime = parseResult.GetValue(oneTime),
                };
                bool added = await store.TryAddSharedSecretAsync(entry, new AuditEntry
                {
                    Actor = $"operator:{Environment.UserName}",
                    Action = "secret-add",
                    Details = $"CMP shared secret '{name}' added: {Describe(entry)}",
                }, cancellationToken);
                if (!added)
                {
                    throw new CliException(ExitCodes.Usage, $"A shared secret '{RequestsCommand.Cell(name)}' is in the store already; remove it first: {HowToInvoke.Command("cmp", "secrets", "remove", name, "--data", certification.DataDirectory)}");
                }

                await stdout.WriteLineAsync($"Added CMP shared secret '{RequestsCommand.Cell(name)}': {Describe(entry)}.");
                if (generated is not null)
                {
                    // The one and only time it is shown: the store keeps it for MAC verification, nothing prints it again.
                    await stdout.WriteLineAsync($"secret: {generated}");
                }

                return ExitCodes.Success;
            }, cancellationToken);
        });
        return command;
    }

    private static Command BuildList()
    {
        var data = DataOption();
        var command = new Command("list", "List the stored shared secrets (never the secrets themselves): reference, created, expires, one-time, state, grant.") { data };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            ConfigurationArguments.ThrowOnUnrecognized(parseResult.UnmatchedTokens, "cmp secrets list");
            TextWriter stdout = parseResult.InvocationConfiguration.Output;
            return await RequestsCommand.WithStoreAsync(parseResult, data, async (_, store) =>
            {
                IReadOnlyList<StoredSharedSecret> all = await store.ListSharedSecretsAsync(ListLimit, cancellationToken);
                if (all.Count == 0)
                {
                    await stdout.WriteLineAsync("No shared secrets in the store.");
                    return ExitCodes.Success;
                }

                DateTimeOffset now = DateTimeOffset.UtcNow;
                await stdout.WriteLineAsync("REFERENCE\tCREATED (UTC)\tEXPIRES (UTC)\tUSE\tSTATE\tPROFILE\tNAMES");
                foreach (StoredSharedSecret secret in all)
                {
                    string state = secret.IsConsumed ? $"used {Time(secret.ConsumedAt!.Value)} by {RequestsCommand.Cell(secret.ConsumedBy ?? "?")}"
                        : secret.IsExpired(now) ? "expired"
                        : "usable";
                    await stdout.WriteLineAsync(string.Join('\t',
                        RequestsCommand.Cell(secret.Reference),
                        Time(secret.CreatedAt),
                        secret.ExpiresAt is { } e ? Time(e) : "never",
                        secret.OneTime ? "one-time" : "reusable",
                        state,
                        secret.Profile is { } p ? RequestsCommand.Cell(p) : "any",
                        Names(secret)));
                }

                if (all.Count == ListLimit)
                {
                    await stdout.WriteLineAsync($"(only the first {ListLimit} are shown)");
                }

                return ExitCodes.Success;
            }, cancellationToken);
        });
        return command;
    }

    private static Command BuildRemove()
    {
        var data = DataOption();
        var reference = new Argument<string>("REF") { Description = "The reference of the secret to remove" };
        var command = new Command("remove", "Remove a shared secret: it authenticates nothing from now on, a running server included.") { data, reference };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            ConfigurationArguments.ThrowOnUnrecognized(parseResult.UnmatchedTokens, "cmp secrets remove");
            string name = parseResult.GetValue(reference) ?? "";
            TextWriter stdout = parseResult.InvocationConfiguration.Output;
            return await RequestsCommand.WithStoreAsync(parseResult, data, async (certification, store) =>
            {
                bool removed = await store.RemoveSharedSecretAsync(name, new AuditEntry
                {
                    Actor = $"operator:{Environment.UserName}",
                    Action = "secret-remove",
                    Details = $"CMP shared secret '{name}' removed",
                }, cancellationToken);
                if (!removed)
                {
                    throw new CliException(ExitCodes.Usage, $"No shared secret '{RequestsCommand.Cell(name)}' in the store; the ones it holds: {HowToInvoke.Command("cmp", "secrets", "list", "--data", certification.DataDirectory)}");
                }

                await stdout.WriteLineAsync($"Removed CMP shared secret '{RequestsCommand.Cell(name)}'.");
                return ExitCodes.Success;
            }, cancellationToken);
        });
        return command;
    }

    /// <summary>The secret from a file or stdin: its text without the trailing line break a file or a pipe adds.</summary>
    private static async Task<byte[]> ReadSecretAsync(string file, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            if (file == "-")
            {
                await using Stream input = Console.OpenStandardInput();
                using var buffer = new MemoryStream();
                await input.CopyToAsync(buffer, cancellationToken);
                bytes = buffer.ToArray();
            }
            else
            {
                bytes = await File.ReadAllBytesAsync(file, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Usage, $"--secret-file: cannot read '{file}': {ex.Message}", ex);
        }

        int length = bytes.Length;
        while (length > 0 && bytes[length - 1] is (byte)'\n' or (byte)'\r')
        {
            length--;
        }

        if (length == 0 || bytes.Length > MaxSecretFileBytes)
        {
            CryptographicOperations.ZeroMemory(bytes);
            throw new CliException(ExitCodes.Usage, $"--secret-file: the secret must be 1..{MaxSecretFileBytes} bytes.");
        }

        byte[] secret = bytes.AsSpan(0, length).ToArray();
        CryptographicOperations.ZeroMemory(bytes);
        return secret;
    }

    private static DateTimeOffset ParseExpiry(string text)
    {
        if (text.Length >= 2 && double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double amount) && amount > 0)
        {
            TimeSpan? span = char.ToLowerInvariant(text[^1]) switch
            {
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                _ => null,
            };
            if (span is { } s)
            {
                return DateTimeOffset.UtcNow + s;
            }
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset at))
        {
            return at > DateTimeOffset.UtcNow
                ? at
                : throw new CliException(ExitCodes.Usage, $"--expires '{RequestsCommand.Cell(text)}' is in the past.");
        }

        throw new CliException(ExitCodes.Usage, $"--expires '{RequestsCommand.Cell(text)}': a duration (30m, 12h, 7d) or a UTC time (2026-12-31T23:59:59Z).");
    }

    private static string Describe(StoredSharedSecret secret) =>
        $"{(secret.OneTime ? "one-time" : "reusable")}, expires {(secret.ExpiresAt is { } e ? Time(e) + " UTC" : "never")}, "
        + $"profile {(secret.Profile is { } p ? RequestsCommand.Cell(p) : "any")}, names {Names(secret)}";

    private static string Names(StoredSharedSecret secret) =>
        secret.AnyName ? "any" : secret.Subject is { } s ? RequestsCommand.Cell(s) : $"CN={RequestsCommand.Cell(secret.Reference)}";

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}
