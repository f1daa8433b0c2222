using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Serve;
using CoapEnroll.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Cli.Enrollment;

/// <summary>
/// <c>coapenroll requests list [--status pending|issued|rejected|all]|approve ID|reject ID [--reason TEXT] [--data DIR]</c>
/// (and <c>revoke SERIAL</c>, <c>crl</c>: RequestsCommand.Revocation.cs): the
/// operator's side of manual approval, and a look at what became of every request (issued, or refused and why), acting on
/// DIR/coapenroll.db directly (SQLite WAL with a busy timeout, so it works while <c>serve</c> runs). It reads the same
/// configuration as <c>serve</c> (appsettings.json, COAPENROLL_ variables, <c>--Key=value</c>), because approving re-checks the
/// request against its profile as configured now.
/// </summary>
internal static partial class RequestsCommand
{
    private const int ListLimit = 1000;

    public static Command Create()
    {
        var requests = new Command("requests", "Approve or reject certificate requests waiting for an operator (profiles with RequiresApproval); list them, or what became of every request; revoke a certificate; write the CRL.");
        requests.Subcommands.Add(Build("list", "List requests (default: those pending): id, created, profile, protocol, requester, registrar (or -), subject; with --status also the outcome (serial, or why refused).",
            withId: false, withReason: false));
        requests.Subcommands.Add(Build("approve", "Approve a pending request: the CA issues the certificate; the device collects it with its next (repeated) request.", withId: true, withReason: false));
        requests.Subcommands.Add(Build("reject", "Reject a pending request; the device's repeated request gets 4.03 with the reason.", withId: true, withReason: true));
        requests.Subcommands.Add(BuildRevoke());
        requests.Subcommands.Add(BuildCrl());
        return requests;
    }

    private static Command Build(string name, string description, bool withId, bool withReason)
    {
        var data = new Option<string?>("--data") { Description = "Data directory of the server (default: ./data; config key DataDirectory)", HelpName = "DIR" };
        var id = new Argument<long>("ID")
        {
            Description = $"The request id from '{HowToInvoke.Command("requests", "list")}'",
            // The parser's own message names System.Int64.
            CustomParser = result =>
            {
                string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
                if (long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long value) && value > 0)
                {
                    return value;
                }

                result.AddError($"ID '{Cell(text)}' is not a request id: the number in the first column of '{HowToInvoke.Command("requests", "list")}'");
                return 0;
            },
        };
        var reason = new Option<string?>("--reason") { Description = "Why (recorded in the audit log and sent to the device)", HelpName = "TEXT" };
        var status = new Option<string?>("--status")
        {
            Description = $"Which requests: pending (default, oldest first), issued, rejected or all (newest first); at most {ListLimit}",
            HelpName = "pending|issued|rejected|all",
        };
        var command = new Command(name, description) { data };
        if (name == "list")
        {
            command.Options.Add(status);
        }

        if (withId)
        {
            command.Arguments.Add(id);
        }

        if (withReason)
        {
            command.Options.Add(reason);
        }

        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            ConfigurationArguments.ThrowOnUnrecognized(parseResult.UnmatchedTokens, $"requests {name}");

            RequestStatus? listed = name == "list" ? ParseStatus(parseResult.GetValue(status)) : null;
            using IHost host = ServeHost.BuildOffline(parseResult.GetValue(data), parseResult.UnmatchedTokens);
            await using CertificationServices certification = host.Services.GetRequiredService<CertificationServices>();
            string directory = certification.DataDirectory;
            CaDataLayout layout = certification.Layout;
            if (certification.StoreIsDatabaseFile && !File.Exists(layout.Database))
            {
                throw new CliException(ExitCodes.Usage, $"No certificate store in '{directory}' (expected {layout.Database}); start the server there first: {HowToInvoke.Command("serve", "--data", directory)}");
            }

            TextWriter stdout = parseResult.InvocationConfiguration.Output;
            ICertificateAuthorityStore store = await OpenStoreAsync(certification, layout, cancellationToken);
            if (name == "list")
            {
                return listed == RequestStatus.Pending
                    ? await ListPendingAsync(store, stdout, cancellationToken)
                    : await ListAsync(store, listed, stdout, cancellationToken);
            }

            CertificateAuthority authority = await LoadAuthorityAsync(certification, cancellationToken);
            long requestId = parseResult.GetValue(id);
            string actor = $"operator:{Environment.UserName}";
            IssuanceResult result;
            try
            {
                result = name == "approve"
                    ? await authority.ApproveAsync(requestId, actor, cancellationToken)
                    : await authority.RejectAsync(requestId, actor, parseResult.GetValue(reason) is { Length: > 0 } r ? r : "rejected by the operator", cancellationToken);
            }
            catch (KeyNotFoundException)
            {
                throw new CliException(ExitCodes.Usage, $"No request {requestId} in {certification.StoreLocation}; the pending ones: {HowToInvoke.Command("requests", "list", "--data", directory)}");
            }
            catch (ProfileNotConfiguredException ex)
            {
                throw new CliException(ExitCodes.Failure,
                    $"Request {requestId} is still pending: it asks for profile '{ex.Profile}', which this configuration does not have (Ca:Profiles:{ex.Profile}). " +
                    $"Run this command with the configuration of the servers that took the request, or refuse it: {HowToInvoke.Command("requests", "reject", requestId.ToString(CultureInfo.InvariantCulture), "--data", directory)}", ex);
            }
            catch (ArgumentException ex) when (ex.ParamName == "reason")
            {
                throw new CliException(ExitCodes.Usage, $"--reason: must be 1..{CertificateAuthority.MaxOperatorTextLength} characters.", ex);
            }

            return await ReportAsync(name, requestId, result, stdout);
        });
        return command;
    }

    private static async Task<ICertificateAuthorityStore> OpenStoreAsync(CertificationServices certification, CaDataLayout layout, CancellationToken cancellationToken)
    {
        try
        {
            return await certification.GetStoreAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not CliException)
        {
            throw new CliException(ExitCodes.Failure, $"Cannot open the certificate store {certification.StoreLocation}: {ex.Message}", ex);
        }
    }

    private static async Task<CertificateAuthority> LoadAuthorityAsync(CertificationServices certification, CancellationToken cancellationToken)
    {
        try
        {
            return await certification.GetAuthorityAsync(cancellationToken);
        }
        catch (CaConfigurationException ex)
        {
            throw new CliException(ExitCodes.Failure, $"Cannot load the CA: {ex.Message}", ex);
        }
    }

    // "all" is null: every status.
    private static RequestStatus? ParseStatus(string? value) => value?.ToLowerInvariant() switch
    {
        null or "pending" => RequestStatus.Pending,
        "issued" => RequestStatus.Issued,
        "rejected" => RequestStatus.Rejected,
        "all" => null,
        _ => throw new CliException(ExitCodes.Usage, $"--status '{value}' is not one of pending, issued, rejected, all."),
    };

    // The approval queue, oldest first.
    private static async Task<int> ListPendingAsync(ICertificateAuthorityStore store, TextWriter stdout, CancellationToken cancellationToken)
    {
        IReadOnlyList<StoredRequest> pending = await store.ListPendingRequestsAsync(ListLimit, cancellationToken);
        if (pending.Count == 0)
        {
            await stdout.WriteLineAsync("No pending requests.");
            return ExitCodes.Success;
        }

        await stdout.WriteLineAsync("ID\tCREATED (UTC)\tPROFILE\tPROTOCOL\tREQUESTER\tREGISTRAR\tSUBJECT");
        foreach (StoredRequest request in pending)
        {
            await stdout.WriteLineAsync(string.Join('\t',
                request.Id.ToString(CultureInfo.InvariantCulture),
                Created(request),
                request.Profile,
                request.Protocol,
                Cell(request.Requester),
                Cell(request.Registrar ?? "-"),
                Cell(SubjectOf(request))));
        }

        await WriteLimitNoteAsync(pending.Count, "oldest", stdout);
        return ExitCodes.Success;
    }

    // What the CA decided, newest first: the serial of an issued request, the reason of a rejected one.
    private static async Task<int> ListAsync(ICertificateAuthorityStore store, RequestStatus? status, TextWriter stdout, CancellationToken cancellationToken)
    {
        IReadOnlyList<StoredRequest> requests = await store.ListRequestsAsync(status, ListLimit, cancellationToken);
        if (requests.Count == 0)
        {
            await stdout.WriteLineAsync(status is null ? "No requests." : $"No {StatusText(status.Value)} requests.");
            return ExitCodes.Success;
        }

        await stdout.WriteLineAsync("ID\tCREATED (UTC)\tSTATUS\tPROFILE\tPROTOCOL\tREQUESTER\tREGISTRAR\tSUBJECT\tOUTCOME");
        foreach (StoredRequest request in requests)
        {
            string outcome = request.Status switch
            {
                RequestStatus.Issued => $"serial {request.IssuedSerialNumber}",
                RequestStatus.Rejected => $"{request.RejectionReason}: {request.ReasonDetail}",
                _ => "waiting for approval",
            };
            await stdout.WriteLineAsync(string.Join('\t',
                request.Id.ToString(CultureInfo.InvariantCulture),
                Created(request),
                StatusText(request.Status),
                request.Profile,
                request.Protocol,
                Cell(request.Requester),
                Cell(request.Registrar ?? "-"),
                Cell(SubjectOf(request)),
                Cell(outcome)));
        }

        await WriteLimitNoteAsync(requests.Count, "newest", stdout);
        return ExitCodes.Success;
    }

    private static async Task WriteLimitNoteAsync(int count, string which, TextWriter stdout)
    {
        if (count == ListLimit)
        {
            await stdout.WriteLineAsync($"(only the {which} {ListLimit} are shown)");
        }
    }

    private static string StatusText(RequestStatus status) => status switch
    {
        RequestStatus.Pending => "pending",
        RequestStatus.Issued => "issued",
        _ => "rejected",
    };

    private static string Created(StoredRequest request) => request.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    // Requesters, subjects and reasons come from devices: one line, one column each, whatever they contain, and nothing in them
    // invisible. Control and format characters (a NUL, a tab, a bidirectional override), line separators and unpaired surrogates
    // are written as \u{XXXX}, and a backslash as \\ so that an escape in the text cannot pass for one of ours.
    internal static string Cell(string text)
    {
        var cell = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                cell.Append(c).Append(text[++i]);
            }
            else if (c == '\\')
            {
                cell.Append(@"\\");
            }
            else if (CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator
                or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate)
            {
                cell.Append(CultureInfo.InvariantCulture, $"\\u{{{(int)c:X4}}}");
            }
            else
            {
                cell.Append(c);
            }
        }

        return cell.ToString();
    }

    // The subject as the platform prints it (RFC 4514), of a PKCS#10 or a CMP (CRMF) request alike; a subject it cannot print (a
    // string that is not valid for its type) as the hex of its DER, so that the operator sees that there is something, and what.
    internal static string SubjectOf(StoredRequest request)
    {
        if (request.ReadSubject() is not { } subject)
        {
            return "(unreadable request)";
        }

        string name;
        try
        {
            name = subject.Name;
        }
        catch (CryptographicException)
        {
            name = "";
        }

        if (name.Length > 0)
        {
            return name;
        }

        ReadOnlySpan<byte> der = subject.RawData;
        return der.SequenceEqual((ReadOnlySpan<byte>)[0x30, 0x00])
            ? "(empty subject)"
            : $"(undecodable subject, DER #{Convert.ToHexString(der[..Math.Min(der.Length, 256)])}{(der.Length > 256 ? "..." : "")})";
    }

    private static async Task<int> ReportAsync(string action, long requestId, IssuanceResult result, TextWriter stdout)
    {
        switch (result.Status)
        {
            case IssuanceStatus.Issued:
                string again = result.Repeated && action == "approve" ? " (it had been issued already)" : string.Empty;
                if (action == "reject")
                {
                    throw new CliException(ExitCodes.Failure, $"Request {requestId} is not pending: a certificate was issued for it already (serial {result.Certificate!.SerialNumber}).");
                }

                await stdout.WriteLineAsync($"Approved request {requestId}: issued {result.Certificate!.Subject} (serial {result.Certificate.SerialNumber}){again}. "
                    + "The device collects it by repeating its request.");
                return ExitCodes.Success;
            case IssuanceStatus.Rejected when action == "reject" && !result.Repeated:
                await stdout.WriteLineAsync($"Rejected request {requestId}: {result.Detail}.");
                return ExitCodes.Success;
            case IssuanceStatus.Rejected:
                throw new CliException(ExitCodes.Failure, $"Request {requestId} is rejected{(result.Repeated ? " (already)" : string.Empty)}: {result.Reason}: {result.Detail}.");
            default:
                throw new CliException(ExitCodes.Failure, $"Request {requestId} is still pending.");
        }
    }
}
