using System.Globalization;
using CoapEnroll.Ca;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Hosting;

/// <summary>
/// The operator's decisions (a POST each, its CSRF token already checked): approve or reject a pending request, revoke a
/// certificate, each through the CA method <c>coapenroll requests</c> calls, so that the CA re-checks, stores and audits it the
/// same way with this operator as actor. The answer is the page the form was on, with what happened.
/// </summary>
internal sealed partial class AdminSite
{
    private async Task ApproveAsync(HttpContext context, AdminPrincipal principal, IFormCollection form)
    {
        if (!TryRequestId(form, out long id))
        {
            await WriteDashboardAsync(context, principal, StatusCodes.Status400BadRequest, Notice("No request id in the form.", error: true));
            return;
        }

        IssuanceResult result;
        try
        {
            result = await _certification.Authority.ApproveAsync(id, principal.Actor, context.RequestAborted);
        }
        catch (KeyNotFoundException)
        {
            await WriteDashboardAsync(context, principal, StatusCodes.Status404NotFound, Notice($"There is no request {id.ToString(CultureInfo.InvariantCulture)}.", error: true));
            return;
        }
        catch (ProfileNotConfiguredException ex)
        {
            await WriteDashboardAsync(context, principal, StatusCodes.Status409Conflict, Notice(string.Create(CultureInfo.InvariantCulture,
                $"Request {id} is still pending: its profile '{ex.Profile}' is not configured on this node. Approve it on a node that has the profile, or reject it."), error: true));
            return;
        }

        LogDecided(principal.Actor, "approve", id, result.Status.ToString());
        AdminMarkup notice = result.Status switch
        {
            IssuanceStatus.Issued => Notice(string.Create(CultureInfo.InvariantCulture,
                $"Approved request {id}: issued {result.Certificate!.Subject} (serial {result.Certificate.SerialNumber}){(result.Repeated ? ", issued before" : "")}. The device collects it with its next request.")),
            IssuanceStatus.Rejected => Notice(string.Create(CultureInfo.InvariantCulture,
                $"Request {id} is rejected{(result.Repeated ? " (before)" : " on re-checking it against its profile")}: {result.Reason}: {result.Detail}."), error: true),
            _ => Notice(string.Create(CultureInfo.InvariantCulture, $"Request {id} is still pending."), error: true),
        };
        await WriteDashboardAsync(context, principal, StatusCodes.Status200OK, notice);
    }

    private async Task RejectAsync(HttpContext context, AdminPrincipal principal, IFormCollection form)
    {
        string reason = form["reason"].ToString().Trim();
        reason = reason.Length == 0 ? "rejected by the operator" : reason;
        if (!TryRequestId(form, out long id) || reason.Length > CertificateAuthority.MaxOperatorTextLength)
        {
            await WriteDashboardAsync(context, principal, StatusCodes.Status400BadRequest,
                Notice($"A rejection needs a request id and a reason of at most {CertificateAuthority.MaxOperatorTextLength.ToString(CultureInfo.InvariantCulture)} characters.", error: true));
            return;
        }

        IssuanceResult result;
        try
        {
            result = await _certification.Authority.RejectAsync(id, principal.Actor, reason, context.RequestAborted);
        }
        catch (KeyNotFoundException)
        {
            await WriteDashboardAsync(context, principal, StatusCodes.Status404NotFound, Notice($"There is no request {id.ToString(CultureInfo.InvariantCulture)}.", error: true));
            return;
        }

        LogDecided(principal.Actor, "reject", id, result.Status.ToString());
        AdminMarkup notice = result.Status switch
        {
            IssuanceStatus.Rejected when !result.Repeated => Notice(string.Create(CultureInfo.InvariantCulture, $"Rejected request {id}: {result.Detail}.")),
            IssuanceStatus.Rejected => Notice(string.Create(CultureInfo.InvariantCulture, $"Request {id} was rejected before: {result.Reason}: {result.Detail}."), error: true),
            IssuanceStatus.Issued => Notice(string.Create(CultureInfo.InvariantCulture,
                $"Request {id} is not pending: a certificate was issued for it already (serial {result.Certificate!.SerialNumber})."), error: true),
            _ => Notice(string.Create(CultureInfo.InvariantCulture, $"Request {id} is still pending."), error: true),
        };
        await WriteDashboardAsync(context, principal, StatusCodes.Status200OK, notice);
    }

    private async Task RevokeAsync(HttpContext context, AdminPrincipal principal, IFormCollection form)
    {
        string serial = form["serial"].ToString().Replace(":", "", StringComparison.Ordinal).Trim();
        if (serial.Length is 0 or > IssuanceRequest.MaxSerialNumberHexLength || !serial.All(char.IsAsciiHexDigit)
            || !RevocationReasons.TryParse(form["reason"].ToString(), out int reason))
        {
            await WriteCertificatesAsync(context, principal, "", StatusCodes.Status400BadRequest,
                Notice($"A revocation needs a serial number (1..{IssuanceRequest.MaxSerialNumberHexLength.ToString(CultureInfo.InvariantCulture)} hex digits) and an RFC 5280 reason.", error: true));
            return;
        }

        RevocationResult result = await _certification.Authority.RevokeAsync(serial, reason, principal.Actor, context.RequestAborted);
        LogRevoked(principal.Actor, serial.ToUpperInvariant(), result.Status.ToString());
        AdminMarkup notice = result.Status switch
        {
            RevocationStatus.Revoked => Notice($"Revoked certificate {result.Certificate!.SerialNumber} ({result.Certificate.Subject}) for {RevocationReasons.NameOf(reason)}. "
                + "It no longer authenticates its device and the next CRL lists it."),
            RevocationStatus.AlreadyRevoked => Notice($"Certificate {serial.ToUpperInvariant()} was revoked before; nothing changed.", error: true),
            _ => Notice($"There is no certificate with serial {serial.ToUpperInvariant()}.", error: true),
        };
        await WriteCertificatesAsync(context, principal, serial, result.Status == RevocationStatus.UnknownCertificate ? StatusCodes.Status404NotFound : StatusCodes.Status200OK, notice);
    }

    private static bool TryRequestId(IFormCollection form, out long id) =>
        long.TryParse(form["id"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out id);

    [LoggerMessage(476, LogLevel.Information, "{Actor}: {Action} request {RequestId}: {Outcome}")]
    private partial void LogDecided(string actor, string action, long requestId, string outcome);

    [LoggerMessage(477, LogLevel.Information, "{Actor}: revoke {Serial}: {Outcome}")]
    private partial void LogRevoked(string actor, string serial, string outcome);
}
