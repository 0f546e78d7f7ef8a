// Package archtest enforces keepwatch's dependency direction (DESIGN.md,
// "Parts and where they live"): it reads the imports of every Go file of the
// module and reports each import of a module package that the importing
// package's rule does not allow. The rules are the table in Rules; the test
// in this package runs them over the whole module, and a self-test runs them
// over a small tree of deliberate violations under testdata/.
package archtest
