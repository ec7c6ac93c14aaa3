// Package train trains small Llama decoders from scratch with GoMLX autodiff: a compact training
// forward (the same computation as package model's engine, written as one graph with the weights as
// inputs), cross-entropy on chosen next-token predictions, global-norm clipping and Adam on the host.
// "Train" here means fitting every weight of a model small enough for minutes on a CPU, such as the
// faithfulness model organism; the result is written as a Hugging Face directory package model loads.
package train
