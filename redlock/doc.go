// Package redlock implements the Redlock algorithm: one lock held across N
// independent Redis masters, granted only while a majority of them agree.
//
// TODO: package documentation.
package redlock
