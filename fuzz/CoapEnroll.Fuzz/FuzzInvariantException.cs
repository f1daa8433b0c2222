namespace CoapEnroll.Fuzz;

/// <summary>A parser accepted an input and then contradicted itself (a re-encoding that differs, a length that disagrees).</summary>
internal sealed class FuzzInvariantException(string message) : Exception(message);
