namespace CoapEnroll.Fuzz;

/// <summary>
/// One parser under fuzzing. <see cref="Run"/> feeds it one input; it returns normally when the parser accepted or refused
/// the input the documented way, and throws anything else: an undocumented exception from the parser, or a
/// <see cref="FuzzInvariantException"/> when a result contradicts itself. Either is a finding.
/// </summary>
internal interface IFuzzTarget
{
    /// <summary>The name on the command line and of the corpus folder, fuzz/corpus/NAME.</summary>
    string Name { get; }

    /// <summary>What the target feeds and to what, for `list` and the report.</summary>
    string Description { get; }

    void Run(ReadOnlySpan<byte> input);
}
